"""Frame ranges and agendas, as Qube!'s genframes/genchunks/genpartitions."""
import pytest

import qb


def names(works):
    assert all(isinstance(w, qb.Work) for w in works)
    return [w["name"] for w in works]


def test_genframes_expands_runs_steps_and_lists():
    assert names(qb.genframes("1-5")) == ["1", "2", "3", "4", "5"]
    assert names(qb.genframes("1-10x3")) == ["1", "4", "7", "10"]
    assert names(qb.genframes("1,3,5")) == ["1", "3", "5"]
    assert names(qb.genframes("5-1")) == ["5", "4", "3", "2", "1"]
    assert names(qb.genframes("-10--1x3")) == ["-10", "-7", "-4", "-1"]
    assert names(qb.genframes("1-2", "7")) == ["1", "2", "7"]


def test_genframes_keeps_names_that_are_not_frames():
    assert names(qb.genframes("ls,set,echo HI")) == ["ls", "set", "echo HI"]


def test_duplicates_removed_unless_asked_to_keep_them():
    assert names(qb.genframes("1-3,2-4")) == ["1", "2", "3", "4"]
    assert qb.rangesplit("1-3,2-4", removeDuplicates=False) == ["1", "2", "3", "2", "3", "4"]


def test_binary_sort_is_first_last_then_midpoints_breadth_first():
    assert qb.binarySort(list(range(1, 11))) == [1, 10, 5, 3, 7, 2, 4, 6, 8, 9]
    assert names(qb.genframes("1-5", binarySort=True)) == ["1", "5", "3", "2", "4"]
    assert qb.binarySort([1, 2]) == [1, 2]
    order = qb.binarySort(list(range(100)))
    assert sorted(order) == list(range(100))  # every item once


def test_chunks_are_named_as_the_supervisor_names_items():
    assert names(qb.genchunks(10, "1-25")) == ["1-10", "11-20", "21-25"]
    assert names(qb.genchunks(2, "1-9x2")) == ["1-3x2", "5-7x2", "9"]
    assert qb.rangechunk(5, "-100--91") == ["-100--96", "-95--91"]
    assert qb.rangechunk(5, "1-20", binarySort=True) == ["1-5", "16-20", "6-10", "11-15"]


def test_partitions_are_near_equal_the_first_ones_larger():
    assert names(qb.genpartitions(2, "1-10")) == ["1-5", "6-10"]
    assert qb.rangepartition(3, "1-10") == ["1-4", "5-7", "8-10"]
    assert qb.rangepartition(20, "1-3") == ["1", "2", "3"]


def test_bad_ranges_and_arguments_are_qb_errors():
    with pytest.raises(qb.error):
        qb.genchunks(0, "1-10")
    with pytest.raises(qb.error):
        qb.genpartitions(0, "1-10")
    with pytest.raises(qb.error):
        qb.genframes("1-100000000")
    with pytest.raises(qb.error):
        qb.genframes(None)
    with pytest.raises(qb.error, match="unknown argument 'sort'"):
        qb.genframes("1-3", sort=True)
