"""Photos in an object store: a prefix on a real S3 server (moto's, on 127.0.0.1) is listed
by Spark tasks and classified like the same photos on disk."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from helpers.cli import run_cli
from helpers.drawing import write_images
from helpers.extras import need

pytestmark = [pytest.mark.spark, pytest.mark.timeout(600)]

#: a secret that must never be printed or written anywhere
SECRET = "planted-secret-Zq81vXk"
NAMES = ["cat/a.jpg", "cat/_DSC0001.JPG", "dog/b.jpeg", "dog/year=2024/c.png",
         "dog/.hidden.jpg", "notes.txt"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The photos on disk, the same photos under s3://pets/photos/, and the environment
    that reaches the server (credentials and endpoint the usual AWS way)."""
    need("s3fs", "s3")
    server_module = need("moto.server", "test")
    root = tmp_path_factory.mktemp("store")
    local = root / "photos"
    write_images(str(local), [n for n in NAMES if not n.endswith(".txt")], seed=70)
    (local / "notes.txt").write_text("not a photo")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": SECRET,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    import s3fs

    fs = s3fs.S3FileSystem(key="testing", secret=SECRET,
                           client_kwargs={"endpoint_url": env["AWS_ENDPOINT_URL"]})
    fs.mkdir("pets")
    for name in NAMES:
        fs.put_file(str(local / name), f"pets/photos/{name}")
    yield {"local": str(local), "env": env, "root": root}
    server.stop()


def _rows(out: str, prefix: str) -> pd.DataFrame:
    frame = pd.read_parquet(out)
    frame["name"] = [p[len(prefix):].lstrip("/") for p in frame["path"]]
    return frame.sort_values("name").reset_index(drop=True)


def test_a_prefix_is_listed_on_the_cluster_and_classified_like_the_disk(store):
    out_s3, out_disk = str(store["root"] / "s3.parquet"), str(store["root"] / "disk.parquet")
    for source, out in (("s3://pets/photos/", out_s3), (store["local"], out_disk)):
        result = run_cli(["classify", source, "--out", out, "--label-from", "folder",
                          "--quiet"], env=store["env"])
        assert result.rc == 0, result.output
        assert SECRET not in result.stdout + result.stderr
    remote, disk = _rows(out_s3, "s3://pets/photos"), _rows(out_disk, store["local"])
    # recursive, any-case extensions, "_" names kept, "." names skipped, no key=value column
    assert list(remote["name"]) == ["cat/_DSC0001.JPG", "cat/a.jpg", "dog/b.jpeg",
                                    "dog/year=2024/c.png"]
    assert "year" not in remote.columns and remote["error"].isna().all()
    assert list(remote["name"]) == list(disk["name"])
    assert list(remote["label"]) == list(disk["label"])
    assert list(remote["label_true"]) == list(disk["label_true"])
    assert remote["score"].round(6).tolist() == disk["score"].round(6).tolist()
    for folder, _, files in os.walk(out_s3):
        for name in files:
            with open(os.path.join(folder, name), "rb") as fh:
                assert SECRET.encode() not in fh.read(), name


def test_a_listing_that_fails_exits_2_naming_the_uri(store):
    result = run_cli(["classify", "s3://no-such-bucket/photos/", "--out",
                      str(store["root"] / "none.parquet"), "--quiet"], env=store["env"])
    assert result.rc == 2, result.output
    assert "cannot list 's3://no-such-bucket/photos/'" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_embed_in_one_process_lists_with_fsspec_too(store):
    out = str(store["root"] / "vectors.parquet")
    result = run_cli(["embed", "s3://pets/photos/", "--out", out, "--execution", "python",
                      "--quiet"], env=store["env"])
    assert result.rc == 0, result.output
    vectors = _rows(out, "s3://pets/photos")
    assert len(vectors) == 4 and all(len(v) == 1280 for v in vectors["embedding"])


@pytest.mark.parametrize("flag,value,said", [
    ("--sort-into", "s3://pets/sorted/", "not into an object store"),
    ("--out", "s3://pets/out/", "s3a://"),
])
def test_destinations_it_cannot_write_are_refused_before_any_job(tmp_path, flag, value, said):
    args = ["classify", str(tmp_path), "--execution", "python", flag, value]
    if flag != "--out":
        args += ["--out", str(tmp_path / "o")]
    result = run_cli(args, in_process=True)
    assert result.rc == 2 and said in result.stderr and flag in result.stderr, result.output
    assert not os.path.exists("s3:")
