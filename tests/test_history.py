"""History (records, columns, CSV, JSON, DataFrame) and the drawing of a history's columns."""

import json
import math
import sys

import numpy as np
import pytest

from fastdse.history import History, read_csv_comments
from fastdse.monitor import plot_history
from figures import data_lines

# --------------------------------------------------------------------------- History


def test_csv_round_trip_float_epochs_and_nan(tmp_path):
    h = History(["dse", "acc"])
    h.append({"epoch": 0.5, "dse": 1 / 3, "dse_stderr": 1e-17, "acc": 0.25})
    h.append({"epoch": 1.5, "dse": math.pi, "dse_stderr": 0.0, "acc": 0.75})
    assert math.isnan(h.records[0]["acc_stderr"])  # missing stderr -> NaN
    h.to_csv(tmp_path / "h.csv")
    back = History.from_csv(tmp_path / "h.csv")
    assert back["epoch"].tolist() == [0.5, 1.5]
    np.testing.assert_array_equal(back["dse"], h["dse"])
    assert np.isnan(back["acc_stderr"]).all()


def test_from_csv_without_stderr_columns(tmp_path):
    (tmp_path / "h.csv").write_text("epoch,dse\n0,1.5\n1,2.5\n")
    back = History.from_csv(tmp_path / "h.csv")
    assert back.metrics == ("dse",) and back["dse"].tolist() == [1.5, 2.5]


def test_csv_round_trips_the_unit(tmp_path):
    h = History(["dse"], [{"epoch": 0, "dse": 1.5, "dse_stderr": 0.1},
                          {"epoch": 1, "dse": 2.5, "dse_stderr": 0.0}], unit="nats")
    h.to_csv(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[:2] == ["# unit: nats", "epoch,dse,dse_stderr"]
    back = History.from_csv(tmp_path / "h.csv")
    assert back.unit == "nats"
    assert back.records == h.records
    assert History.from_csv(tmp_path / "h.csv", unit="bits").unit == "bits"  # given wins


def test_csv_without_unit_has_no_comment_line(tmp_path):
    History(["dse"], [{"epoch": 0, "dse": 1.5}]).to_csv(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().splitlines()[0] == "epoch,dse,dse_stderr"
    assert History.from_csv(tmp_path / "h.csv").unit is None


def test_old_csv_without_unit_line_still_loads(tmp_path):
    # written before the unit was stored: the header is the first line
    (tmp_path / "h.csv").write_text("epoch,dse,dse_stderr\r\n0,1.5,0.1\r\n1,2.5,nan\r\n")
    back = History.from_csv(tmp_path / "h.csv")
    assert back.unit is None and back["dse"].tolist() == [1.5, 2.5]
    assert History.from_csv(tmp_path / "h.csv", unit="bits").unit == "bits"


def test_read_csv_comments():
    assert read_csv_comments(["epoch,dse\n", "# unit: bits\n"]) == ({}, 0)
    lines = ["\ufeff# unit:  bits \n", "# written by a test\n", "#run: 3\n", "epoch\n"]
    assert read_csv_comments(lines) == ({"unit": "bits", "run": "3"}, 3)


def test_unit_line_counts_in_error_line_numbers(tmp_path):
    (tmp_path / "h.csv").write_text("# unit: bits\nepoch,dse\n0,1.0\n1,abc\n")
    with pytest.raises(ValueError, match=r"line 4 of .*abc"):
        History.from_csv(tmp_path / "h.csv")


def test_unit_errors(tmp_path):
    with pytest.raises(TypeError, match=r"unit must be a string \(e.g. 'bits'\) or None; got 2"):
        History(["dse"], unit=2)
    with pytest.raises(ValueError, match=r"unit must be one line of text; got 'bits\\n'"):
        History(["dse"], unit="bits\n")


def test_plot_history_labels_the_unit_read_from_csv(tmp_path, mpl):
    History(["dse"], [{"epoch": 0, "dse": 1.5}], unit="bits").to_csv(tmp_path / "h.csv")
    ax = plot_history(History.from_csv(tmp_path / "h.csv"))
    assert ax.get_ylabel() == "DSE(Z) (bits)"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("dse,epoch\n1,0\n", "header must start with 'epoch'"),
        ("# unit: bits\n", "header must start with 'epoch'"),
        ("", "header must start with 'epoch'"),
        ("epoch,dse,dse_stderr\n0,1.0\n", "line 2 .* has 2 fields; the header has 3"),
        ("epoch,dse\n0,abc\n", "line 2 .*abc"),
        ("epoch,dse,acc_stderr\n0,1,1\n", "'acc_stderr' .* has no metric column"),
    ],
)
def test_from_csv_errors(tmp_path, text, match):
    (tmp_path / "h.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        History.from_csv(tmp_path / "h.csv")


def test_history_errors():
    h = History(["dse"])
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['acc'\]"):
        h.append({"epoch": 0, "dse": 1.0, "acc": 0.5})
    with pytest.raises(ValueError, match=r"missing column\(s\) \['dse'\]"):
        h.append({"epoch": 0})
    with pytest.raises(TypeError, match="epoch must be a number"):
        h.append({"epoch": "zero", "dse": 1.0})
    with pytest.raises(KeyError, match="no column 'acc'; columns are"):
        h["acc"]
    with pytest.raises(ValueError, match="metrics must be distinct"):
        History(["dse", "dse"])
    with pytest.raises(ValueError, match="not ending in '_stderr'"):
        History(["dse_stderr"])


def two_epochs():
    h = History(["dse", "acc"], unit="bits")
    h.append({"epoch": 0, "dse": 1 / 3, "dse_stderr": 1e-17, "acc": 0.25})
    h.append({"epoch": 1, "dse": math.pi, "dse_stderr": 0.0, "acc": 0.75})
    return h


def test_to_json_round_trips_the_columns_exactly():
    h = two_epochs()
    back = json.loads(h.to_json())
    assert list(back) == h.columns == ["epoch", "dse", "dse_stderr", "acc", "acc_stderr"]
    assert back["epoch"] == [0, 1] and all(type(e) is int for e in back["epoch"])
    assert back["dse"] == [1 / 3, math.pi]  # bit for bit
    assert back["dse_stderr"] == [1e-17, 0.0]
    assert back["acc_stderr"] == [None, None]  # the missing stderr (NaN) is null in JSON
    assert "NaN" not in h.to_json()
    assert h.to_json(indent=1).startswith('{\n "epoch": [\n  0,')


def test_to_json_of_an_empty_history():
    assert json.loads(History(["dse"]).to_json()) == {"epoch": [], "dse": [], "dse_stderr": []}


def test_to_frame_one_row_per_epoch():
    pytest.importorskip("pandas")
    h = two_epochs()
    frame = h.to_frame()
    assert list(frame.columns) == h.columns
    assert frame.shape == (2, 5)
    assert frame["epoch"].tolist() == [0, 1]
    np.testing.assert_array_equal(frame["dse"].to_numpy(), h["dse"])
    assert frame["acc_stderr"].isna().all()
    assert History(["dse"]).to_frame().shape == (0, 3)


def test_to_frame_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"needs pandas: pip install pandas"):
        two_epochs().to_frame()


# --------------------------------------------------------------------------- drawing


def test_plot_history_dict_of_lists_as_read_from_csv(mpl):
    # what the CLI passes: columns read with the csv module, as float lists
    columns = {"epoch": [0.0, 1.0, 2.0], "dse": [1.0, 1.5, 1.75], "dse_stderr": [0.0] * 3,
               "dsmi_x": [0.1, 0.2, 0.4], "dsmi_x_stderr": [0.01, 0.02, 0.0], "acc": [0, 1, 1]}
    ax = plot_history(columns)  # ax=None: a new pyplot figure
    lines = data_lines(ax)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == [
        "DSE(Z)", "DSMI(Z; X)", "acc"]
    np.testing.assert_array_equal(lines["DSMI(Z; X)"].get_ydata(), columns["dsmi_x"])
    np.testing.assert_array_equal(lines["acc"].get_ydata(), columns["acc"])
    bar_lines = ax.containers[0].lines[2][0].get_segments()
    assert [s[1, 1] - s[0, 1] for s in bar_lines] == pytest.approx([0.02, 0.04, 0.0])
    assert ax.get_ylabel() == ""  # no unit known for a plain mapping


def test_plot_history_errors(mpl):
    with pytest.raises(ValueError, match="history has no 'epoch' column"):
        plot_history({"dse": [1.0]})
    with pytest.raises(ValueError, match=r"no metric\(s\) \['dsmi_y'\]; available: \['dse'\]"):
        plot_history({"epoch": [0], "dse": [1.0]}, "dsmi_y")
    with pytest.raises(ValueError, match="columns must have one length"):
        plot_history({"epoch": [0, 1], "dse": [1.0]})
    with pytest.raises(ValueError, match="no metric column to plot"):
        plot_history({"epoch": [0, 1]})
    with pytest.raises(TypeError, match="history must be a TrainingMonitor, a History or a"):
        plot_history([1, 2, 3])


def test_plot_history_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    message = r"plotting needs matplotlib: pip install matplotlib"
    with pytest.raises(ImportError, match=message):
        plot_history({"epoch": [0], "dse": [1.0]})
