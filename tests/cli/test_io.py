"""File loading of the command line: formats, headers, labels, no pickle."""

import os

import numpy as np
import pytest

from fastdse.cli import io as _io


@pytest.mark.parametrize(
    "text,expected",
    [
        ("x,y\n1,2\n3,4\n", True),  # named numeric columns
        ("1,2\n3,4\n", False),
        ("label\ncat\ndog\ncat\n", True),  # a name that is not one of the labels
        ("cat\ndog\ncat\ndog\n", False),  # the first row is a repeated label
        ("id,score\na,1\nb,2\n", True),
        ("only\n", False),
    ],
)
def test_header_detection(tmp_path, text, expected):
    path = tmp_path / "t.csv"
    path.write_text(text)
    rows = _io.read_rows(str(path), ",")
    assert _io._detect_header(rows) is expected


def test_header_flags_override_detection(tmp_path):
    path = tmp_path / "y.csv"
    path.write_text("cat\ndog\ncat\n")
    assert _io.load_array(path, labels=True).tolist() == ["cat", "dog", "cat"]
    assert _io.load_array(path, labels=True, header=True).tolist() == ["dog", "cat"]
    num = tmp_path / "x.csv"
    num.write_text("1,2\n3,4\n")
    assert _io.load_array(num, header=True).tolist() == [[3.0, 4.0]]
    assert _io.load_array(num, header=False).shape == (2, 2)


def test_text_labels_keep_integer_dtype(tmp_path):
    path = tmp_path / "y.csv"
    path.write_text("3\n1\n3\n")
    assert _io.load_array(path, labels=True).dtype == np.int64
    assert _io.load_array(path).dtype == np.float64


def test_npy_of_strings_loads_without_pickle(tmp_path):
    np.save(tmp_path / "y.npy", np.array(["a", "b", "a"]))
    assert _io.load_array(tmp_path / "y.npy", labels=True).tolist() == ["a", "b", "a"]


def test_load_array_raises_input_error(tmp_path):
    with pytest.raises(_io.InputError, match="no such file"):
        _io.load_array(tmp_path / "nope.csv")
    (tmp_path / "bad.npy").write_bytes(b"not an npy file")
    with pytest.raises(_io.InputError, match=r"bad\.npy: not a valid \.npy file"):
        _io.load_array(tmp_path / "bad.npy")
    np.save(tmp_path / "single.npy", np.zeros(3))
    os.replace(tmp_path / "single.npy", tmp_path / "single.npz")
    with pytest.raises(_io.InputError, match=r"not a \.npz archive but a single \.npy array"):
        _io.load_array(tmp_path / "single.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(_io.InputError, match=r"not a valid \.npz file \(not a zip archive\)"):
        _io.load_array(tmp_path / "bad.npz")
    np.save(tmp_path / "obj.npy", np.array([None, 1], dtype=object))
    with pytest.raises(_io.InputError, match="holds Python objects"):
        _io.load_array(tmp_path / "obj.npy")




@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("0\n1\n\n0\n1\n", 3),  # a missing label: skipping it would shift every later label
        ("0\n1\n   \n0\n", 3),  # blank but for spaces
        ("1,2\n,\n3,4\n", 2),  # no value in any field
        ("\n0\n1\n", 1),
        ("0\n\n\n1\n", 2),  # the first of several
    ],
)
def test_blank_line_inside_the_data_is_refused(tmp_path, text, line):
    path = tmp_path / "y.csv"
    path.write_text(text)
    with pytest.raises(_io.InputError,
                       match=rf"^{path}: line {line} is blank but rows follow it \(a missing"):
        _io.load_array(path, labels=True)


@pytest.mark.parametrize("text", ["0\n1\n0\n", "0\n1\n0", "0\n1\n0\n\n\n", "0\r\n1\r\n0\r\n"])
def test_blank_lines_may_end_the_file(tmp_path, text):
    path = tmp_path / "y.csv"
    path.write_text(text)
    assert _io.load_array(path, labels=True).ravel().tolist() == [0, 1, 0]


def test_ragged_row_is_named_by_its_line(tmp_path):
    # a quoted cell may span lines: the message gives the line in the file, not the row index
    path = tmp_path / "x.csv"
    path.write_text('a,b\n"multi\nline",1\n2\n')
    with pytest.raises(_io.InputError, match="line 4 has 1 field"):
        _io.read_rows(str(path), ",")
