"""Listing by URI: the same rules as a folder on disk, wherever the listing runs."""

from __future__ import annotations

import os

import pytest

from helpers.extras import need
from sparkvision.errors import InputError
from sparkvision.sources import list_inputs
from sparkvision.storage.listing import resolve_inputs
from sparkvision.storage.uris import find_images, names_a_file, scheme

NAMES = ["a/x.JPG", "a/_DSC0001.jpg", "a/.hidden.jpg", ".cache/z.jpg", "a/notes.txt",
         "k=v/y.png"]


@pytest.fixture
def folder(tmp_path):
    for name in NAMES:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / "folder.jpg").mkdir()  # a folder named like an image is an input too
    return tmp_path


def test_a_folder_by_uri_lists_like_the_folder_on_disk(folder):
    by_uri = [p for p, _, _ in find_images(f"file://{folder}", (".jpg", ".png"))]
    assert by_uri == resolve_inputs(str(folder), extensions=["jpg", "png"])
    names = [os.path.relpath(p, folder) for p in by_uri]
    assert names == ["a/_DSC0001.jpg", "a/x.JPG", "folder.jpg", "k=v/y.png"]


def test_an_fsspec_prefix_gives_uris_with_sizes():
    fsspec = need("fsspec", "s3")
    fs = fsspec.filesystem("memory")
    fs.pipe("/pets/photos/cat/a.jpg", b"abc")
    fs.pipe("/pets/photos/cat/.b.jpg", b"abc")
    fs.pipe("/pets/photos/dog/c.jpeg", b"abcd")
    found = find_images("memory://pets/photos/", (".jpg", ".jpeg"))
    assert [(p, n) for p, n, _ in found] == [("memory://pets/photos/cat/a.jpg", 3),
                                              ("memory://pets/photos/dog/c.jpeg", 4)]
    # listed in this process when there is no session (the python execution)
    assert list_inputs(["memory://pets/photos/"]) == [p for p, _, _ in found]


def test_a_listing_that_fails_names_the_uri():
    with pytest.raises(InputError, match=r"cannot list 'nosuchfs://bucket/photos/'"):
        find_images("nosuchfs://bucket/photos/", (".jpg",))
    with pytest.raises(InputError, match=r"use a Spark execution"):
        list_inputs(["hdfs://nn/photos/"])


def test_what_is_a_file_and_what_is_a_prefix():
    exts = (".jpg",)
    assert names_a_file("s3://b/p/a.JPG", exts) and not names_a_file("s3://b/p/", exts)
    assert not names_a_file("s3://b/photos", exts)
    assert (scheme("S3://b/"), scheme("/x"), scheme("file:///x")) == ("s3", "", "file")


def test_under_connect_files_the_client_cannot_see_are_inputs_as_they_are(tmp_path):
    unseen = "/nowhere/on/this/machine/a.jpg"
    assert list_inputs([unseen], connect=True) == [unseen]
    with pytest.raises(InputError, match="does not exist"):
        list_inputs([unseen])
