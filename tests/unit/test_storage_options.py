"""Object-store settings and reads without a server: ``--storage-option`` parsing and
masking, the error kind of each failure, and the read-ahead over fsspec's memory file
system (the S3 server tests are in tests/spark/test_object_store.py)."""

from __future__ import annotations

import pytest

from helpers.extras import need
from sparkvision.errors import ConfigError, ImageProblem
from sparkvision.options import MASK, SparkOptions, StorageOptions, mask

fsspec = need("fsspec", "s3")

from sparkvision.storage import remote  # noqa: E402


def test_parse_reads_json_values_and_nested_keys():
    options = StorageOptions.parse([
        "anon=false", "client_kwargs.endpoint_url=http://127.0.0.1:9000",
        "config_kwargs.retries.max_attempts=3", "profile=dev", "requester_pays=true",
    ])
    assert dict(options) == {
        "anon": False, "profile": "dev", "requester_pays": True,
        "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"},
        "config_kwargs": {"retries": {"max_attempts": 3}},
    }


def test_parse_keeps_text_that_is_not_json_and_splits_on_the_first_equals_sign():
    options = StorageOptions.parse(["token=abc=def==", "region=eu-west-1"])
    assert options["token"] == "abc=def=="
    assert options["region"] == "eu-west-1"


@pytest.mark.parametrize("pair", ["anon", "=true", " =1"])
def test_parse_refuses_a_pair_without_key_or_equals_sign(pair):
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        StorageOptions.parse([pair])


def test_parse_refuses_a_key_below_a_value():
    with pytest.raises(ConfigError, match="already a value"):
        StorageOptions.parse(["client_kwargs=1", "client_kwargs.endpoint_url=x"])


def test_secret_values_are_masked_when_printed_nested_ones_too():
    options = StorageOptions.parse([
        "key=AKIAPLANTED", "secret=planted-secret-value", "region=eu-west-1",
        "client_kwargs.aws_secret_access_key=nested-planted", "sas_token=sv=2024&sig=x",
    ])
    for text in (repr(options), repr(SparkOptions(storage=options)),
                 repr(SparkOptions(conf={"fs.s3a.secret.key": "conf-planted"}))):
        for planted in ("AKIAPLANTED", "planted-secret-value", "nested-planted", "sig=x",
                        "conf-planted"):
            assert planted not in text
    assert "eu-west-1" in repr(options)
    assert mask(options)["client_kwargs"] == {"aws_secret_access_key": MASK}
    # masking is for printing only: the file system gets the real values
    assert options["secret"] == "planted-secret-value"


def test_equal_options_hash_alike():
    one = StorageOptions.parse(["anon=true", "client_kwargs.region_name=x"])
    two = StorageOptions({"client_kwargs": {"region_name": "x"}, "anon": True})
    assert one == two and hash(one) == hash(two)
    assert one != StorageOptions.parse(["anon=false"])


def test_s3_defaults_merge_under_the_users_options():
    merged = remote._merged(remote.S3_DEFAULTS, {
        "config_kwargs": {"retries": {"max_attempts": 2}}, "anon": True})
    assert merged["config_kwargs"]["retries"] == {"max_attempts": 2, "mode": "standard"}
    assert merged["config_kwargs"]["read_timeout"] == remote.S3_DEFAULTS[
        "config_kwargs"]["read_timeout"]
    assert merged["anon"] is True
    # the defaults themselves are untouched
    assert remote.S3_DEFAULTS["config_kwargs"]["retries"]["max_attempts"] == 8


@pytest.mark.parametrize(("exc", "kind"), [
    (FileNotFoundError("s3://b/a.jpg"), "missing"),
    (PermissionError("Access Denied"), "forbidden"),
    (TimeoutError("read timed out"), "remote_unavailable"),
    (OSError("503 SlowDown"), "remote_unavailable"),
])
def test_each_failure_has_its_kind_and_names_the_uri(exc, kind):
    problem = remote.problem_for("s3://b/a.jpg", exc)
    assert problem.kind == kind
    assert "s3://b/a.jpg" in str(problem)


def test_an_unknown_scheme_is_an_error_row_per_image_not_a_crash():
    got = remote.fetch(["nosuchscheme://b/a.jpg", "nosuchscheme://b/b.jpg"])
    assert [g.kind for g in got] == ["unsupported_scheme"] * 2


@pytest.fixture()
def memory_images():
    fs = fsspec.filesystem("memory")
    root = "/sv-read-ahead"
    for i in range(7):
        fs.pipe(f"{root}/{i}.jpg", bytes([i]) * (i + 1))
    yield [f"memory://{root}/{i}.jpg" for i in range(7)]
    fs.rm(root, recursive=True)


def test_fetch_keeps_order_and_marks_missing_objects(memory_images):
    uris = [memory_images[3], "memory:///sv-read-ahead/none.jpg", memory_images[0]]
    got = remote.fetch(uris)
    assert got[0] == bytes([3]) * 4 and got[2] == bytes([0])
    assert isinstance(got[1], ImageProblem) and got[1].kind == "missing"


def test_read_ahead_gives_every_chunk_in_order_local_paths_untouched(memory_images):
    chunks = [memory_images[0:3], ["/local/a.jpg", memory_images[3]], memory_images[4:7]]
    got = list(remote.read_ahead(chunks))
    assert got[0] == [bytes([0]), bytes([1]) * 2, bytes([2]) * 3]
    assert got[1] == ["/local/a.jpg", bytes([3]) * 4]
    assert [len(b) for b in got[2]] == [5, 6, 7]


def test_read_ahead_fetches_at_most_one_chunk_ahead(memory_images, monkeypatch):
    fetched: list[int] = []
    real = remote.fetch

    def counting(uris, options=None):
        fetched.append(len(uris))
        return real(uris, options)

    monkeypatch.setattr(remote, "fetch", counting)
    chunks = [[u] for u in memory_images]
    reader = remote.read_ahead(chunks)
    next(reader)
    # the first chunk, and the second being fetched in the background: never more
    reader_thread_done = list(fetched)
    assert len(reader_thread_done) <= 2
    rest = list(reader)
    assert len(rest) == len(chunks) - 1 and len(fetched) == len(chunks)


def test_read_ahead_without_uris_reads_nothing(monkeypatch):
    monkeypatch.setattr(remote, "fetch", lambda *a, **k: pytest.fail("fetched"))
    assert list(remote.read_ahead([["/a.jpg", b"bytes"], ["/b.jpg"]])) == [
        ["/a.jpg", b"bytes"], ["/b.jpg"]]


@pytest.mark.parametrize("target, said", [
    ("s3://pets/sorted/", "manifest in s3://pets/sorted/_manifest/ (CSV parts)"),
    ("/data/sorted", "manifest in _manifest.csv"),
])
def test_the_summary_names_where_the_sort_manifest_is(target, said):
    from sparkvision.jobs.summary import RunSummary

    summary = RunSummary(inputs=2, ok=2, failed=0, failed_by_kind={}, seconds=1.0,
                         images_per_s=2.0, output="out.parquet", format="parquet",
                         sorted_into=target, sort_counts={"copied": 2})
    assert said in summary.render()
