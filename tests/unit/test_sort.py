"""--sort-into: copies by default, moves only verified copies, never overwrites, keeps every
label inside the target, does not duplicate on a rerun, and records every row."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil

import pytest

import sparkvision.sinks.sort as sort_mod
from sparkvision.errors import ConfigError
from sparkvision.sinks.sort import MANIFEST, safe_label, sort_into


def make_files(folder, names):
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, name in enumerate(names):
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(f"image {i} {name}".encode() * 50)
        paths.append(path)
    return paths


def sha(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def manifest(target):
    with open(os.path.join(target, MANIFEST), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def all_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


def test_copy_is_the_default_and_leaves_sources(tmp_path):
    src = make_files(str(tmp_path / "in"), ["a.jpg", "b.jpg"])
    before = {p: sha(p) for p in src}
    report = sort_into([(src[0], "cat"), (src[1], "dog")], str(tmp_path / "out"))
    assert report.counts == {"copied": 2}
    assert {p: sha(p) for p in src} == before
    assert sha(str(tmp_path / "out" / "cat" / "a.jpg")) == before[src[0]]
    rows = manifest(str(tmp_path / "out"))
    assert [(r["source"], r["action"], r["sha256"]) for r in rows] == [
        (src[0], "copied", before[src[0]]), (src[1], "copied", before[src[1]])]


def test_move_deletes_the_source_only_after_a_verified_copy(tmp_path):
    src = make_files(str(tmp_path / "in"), ["a.jpg"])
    digest = sha(src[0])
    report = sort_into([(src[0], "cat")], str(tmp_path / "out"), mode="move")
    assert report.counts == {"moved": 1}
    assert not os.path.exists(src[0])
    dest = tmp_path / "out" / "cat" / "a.jpg"
    assert sha(str(dest)) == digest
    assert manifest(str(tmp_path / "out"))[0]["destination"] == str(dest)


def test_move_keeps_the_source_when_the_copy_does_not_verify(tmp_path, monkeypatch):
    src = make_files(str(tmp_path / "in"), ["a.jpg"])
    digest = sha(src[0])

    def bad_copy(source, dest):  # a copy that silently loses its last byte
        with open(source, "rb") as fi, open(dest, "wb") as fo:
            fo.write(fi.read()[:-1])

    monkeypatch.setattr(sort_mod.shutil, "copy2", bad_copy)
    report = sort_into([(src[0], "cat")], str(tmp_path / "out"), mode="move")
    assert report.counts == {"error": 1}
    assert sha(src[0]) == digest
    assert all_files(str(tmp_path / "out" / "cat")) == []  # no partial or temporary file
    row = manifest(str(tmp_path / "out"))[0]
    assert "did not verify" in row["action"] and row["destination"] == ""


def test_never_overwrites_a_different_file_of_the_same_name(tmp_path):
    src = make_files(str(tmp_path / "in"), ["a.jpg"])
    occupied = tmp_path / "out" / "cat" / "a.jpg"
    occupied.parent.mkdir(parents=True)
    occupied.write_bytes(b"someone else's photo")
    report = sort_into([(src[0], "cat")], str(tmp_path / "out"), mode="move")
    assert report.counts == {"moved": 1}
    assert occupied.read_bytes() == b"someone else's photo"
    assert (tmp_path / "out" / "cat" / "a-1.jpg").exists()


@pytest.mark.parametrize("label", [
    "../escape", "../../etc", "/etc/passwd", "a/../../b", "..", ".", "", "nul\x00byte",
    "new\nline", "x" * 5000, "猫" * 300, "C:\\windows\\system32", "~root",
])
def test_a_label_never_escapes_the_target(tmp_path, label):
    src = make_files(str(tmp_path / "in"), ["a.jpg"])
    target = tmp_path / "box" / "out"
    report = sort_into([(src[0], label)], str(target))
    assert report.counts == {"copied": 1}, manifest(str(target))
    dest = manifest(str(target))[0]["destination"]
    folder = os.path.dirname(os.path.realpath(dest))
    assert os.path.dirname(folder) == os.path.realpath(target)
    assert len(os.path.basename(folder).encode()) <= 100
    assert sorted(os.listdir(tmp_path / "box")) == ["out"]  # nothing next to the target


def test_safe_label_is_a_single_plain_name():
    for label in ["../x", "/abs", "a\x00b", "..", "x" * 300, "ü" * 200]:
        name = safe_label(label)
        assert name and "/" not in name and "\x00" not in name and name not in (".", "..")
        assert len(name.encode()) <= 100
    assert safe_label("Dog") == "Dog" and safe_label("golden retriever") == "golden retriever"


def test_a_planted_symlink_label_folder_is_refused(tmp_path):
    src = make_files(str(tmp_path / "in"), ["a.jpg"])
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    os.symlink(outside, target / "cat")
    report = sort_into([(src[0], "cat")], str(target))
    assert report.counts == {"error": 1}
    assert list(outside.iterdir()) == []
    assert "outside" in manifest(str(target))[0]["action"]


def test_rerun_does_not_duplicate(tmp_path):
    src = make_files(str(tmp_path / "in"), ["a.jpg", "b.jpg", "c.jpg"])
    rows = [(src[0], "cat"), (src[1], "dog"), (src[2], "cat")]
    target = str(tmp_path / "out")
    sort_into(rows, target)
    files = all_files(target)
    again = sort_into(rows, target)
    assert again.counts == {"exists": 3}
    assert all_files(target) == files
    assert len(manifest(target)) == 6  # both runs recorded, one header


def test_rerun_of_a_move_finds_what_was_moved(tmp_path):
    src = make_files(str(tmp_path / "in"), ["a.jpg", "b.jpg"])
    rows = [(src[0], "cat"), (src[1], "dog")]
    target = str(tmp_path / "out")
    sort_into(rows, target, mode="move")
    files = all_files(target)
    again = sort_into(rows, target, mode="move")
    assert again.counts == {"moved_earlier": 2}
    assert all_files(target) == files


def test_move_interrupted_after_the_copy_is_finished_by_a_rerun(tmp_path):
    """A run killed after placing the copy but before deleting the source: the rerun sees
    the same bytes in place, keeps one copy, and deletes the source."""
    src = make_files(str(tmp_path / "in"), ["a.jpg"])
    target = tmp_path / "out"
    (target / "cat").mkdir(parents=True)
    shutil.copy(src[0], target / "cat" / "a.jpg")
    report = sort_into([(src[0], "cat")], str(target), mode="move")
    assert report.counts == {"moved_existing": 1}
    assert not os.path.exists(src[0])
    assert all_files(str(target)) == [MANIFEST, "cat/a.jpg"]


def test_sorting_a_folder_into_itself_never_deletes(tmp_path):
    src = make_files(str(tmp_path / "cat"), ["a.jpg"])
    digest = sha(src[0])
    report = sort_into([(src[0], "cat")], str(tmp_path), mode="move")
    assert report.counts == {"already_in_place": 1}
    assert sha(src[0]) == digest


def test_failed_rows_and_odd_names_are_recorded(tmp_path):
    names = ['<script>alert(1)<script>.jpg', 'comma, "quote".jpg', "new\nline.jpg", "ü 猫.jpg"]
    src = make_files(str(tmp_path / "in"), names)
    rows = [(p, "cat") for p in src] + [(str(tmp_path / "broken.jpg"), None),
                                        (str(tmp_path / "gone.jpg"), "dog")]
    target = str(tmp_path / "out")
    report = sort_into(rows, target)
    assert report.counts == {"copied": 4, "skipped_failed": 1, "error": 1}
    recorded = manifest(target)
    assert [r["source"] for r in recorded] == [r[0] for r in rows]
    for r in recorded[:4]:
        assert os.path.basename(r["destination"]) == os.path.basename(r["source"])
        assert os.path.isfile(r["destination"])
    assert "No such file" in recorded[5]["action"]


def test_link_mode_links_once(tmp_path):
    src = make_files(str(tmp_path / "in"), ["a.jpg"])
    target = str(tmp_path / "out")
    assert sort_into([(src[0], "cat")], target, mode="link").counts == {"linked": 1}
    assert sort_into([(src[0], "cat")], target, mode="link").counts == {"exists": 1}
    link = os.path.join(target, "cat", "a.jpg")
    assert os.path.islink(link) and os.readlink(link) == src[0]


def test_long_source_names_are_cut_to_fit_when_renamed(tmp_path):
    name = "x" * 250 + ".jpg"
    src = make_files(str(tmp_path / "in"), [name])
    target = tmp_path / "out"
    (target / "cat").mkdir(parents=True)
    (target / "cat" / name).write_bytes(b"other bytes")
    assert sort_into([(src[0], "cat")], str(target)).counts == {"copied": 1}
    dest = manifest(str(target))[0]["destination"]
    assert dest.endswith("-1.jpg") and len(os.path.basename(dest).encode()) <= 255


def test_unknown_mode_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="copy, move, link"):
        sort_into([], str(tmp_path), mode="shred")
