"""Frame ranges and agendas: genframes, genchunks, genpartitions, rangesplit,
rangechunk, rangepartition and binarySort, as in Qube!'s module.

Ranges are Qube's: "7", "1,3,5", "1-100", "1-100x3", "-10--1", "10-1", and
comma-separated mixes. A comma part that is not a number or a run is a name
kept as it is ("ls,set,echo HI" gives three items), as Qube! does. Chunks and
partitions are named the way qbsub --chunk / --partitions name agenda items
("1-10", "1-7x3"), each a run of one step, so the supervisor reads the frames of
an item from its name (QB_FRAME_START ...).
"""
import re

from ._errors import error
from ._objects import Work

_RUN = re.compile(r"^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*(?:x\s*(\d+)\s*)?)?$")
_MAX_FRAMES = 10000000  # the supervisor's limit on frames per job


def _part_frames(part):
    """The frames of one comma part, or None if it is a name rather than a run."""
    m = _RUN.match(part)
    if not m:
        return None
    first = int(m.group(1))
    if m.group(2) is None:
        return [first]
    last = int(m.group(2))
    step = int(m.group(3) or 1)
    if step < 1:
        raise error("frame range '%s': the step must be at least 1" % part)
    if abs(last - first) // step + 1 > _MAX_FRAMES:
        raise error("frame range '%s' has more than %d frames" % (part, _MAX_FRAMES))
    return list(range(first, last + 1, step)) if last >= first else list(range(first, last - 1, -step))


def _items(ranges, remove_duplicates=True):
    """Frames (ints) and names (strs) of all ranges, in the order written."""
    out, seen = [], set()
    for text in ranges:
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise error("a frame range must be a string, not %s" % type(text).__name__)
        for part in text.split(","):
            if not part.strip():
                continue
            frames = _part_frames(part)
            for item in (frames if frames is not None else [part]):
                if remove_duplicates and item in seen:
                    continue
                seen.add(item)
                out.append(item)
    if len(out) > _MAX_FRAMES:
        raise error("frame ranges hold more than %d frames" % _MAX_FRAMES)
    return out


def binarySort(origList):
    """First, last, then the midpoints of the remaining gaps, breadth-first and left
    to right, no repeats: the order of qbsub --order binary. A first pass over a
    sequence sees its whole length early (Qube!'s binary sort)."""
    items = list(origList)
    n = len(items)
    if n < 3:
        return items
    order = [0, n - 1]
    gaps = [(0, n - 1)]
    while gaps:
        following = []
        for lo, hi in gaps:
            if hi - lo < 2:
                continue
            mid = (lo + hi) // 2
            order.append(mid)
            following += [(lo, mid), (mid, hi)]
        gaps = following
    return [items[i] for i in order]


def _runs(items):
    """Splits frames into runs of one step (names each stand alone), so that every
    chunk is a run and its name says exactly which frames it holds."""
    runs = []
    for item in items:
        run = runs[-1] if runs else None
        if (isinstance(item, int) and run and isinstance(run[-1], int)
                and (len(run) == 1 or item - run[-1] == run[1] - run[0]) and item != run[-1]):
            run.append(item)
        else:
            runs.append([item])
    return runs


def _name(run):
    if len(run) == 1:
        return str(run[0])
    step = abs(run[1] - run[0])
    return "%d-%d" % (run[0], run[-1]) + ("x%d" % step if step != 1 else "")


def _split(items, chunk=1, partitions=0):
    """Groups items as the supervisor's make_items does: `chunk` frames per item, or
    `partitions` near-equal items (the first total % partitions one larger); an
    item never spans two runs."""
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise error("the chunk size must be an integer of at least 1")
    if isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 0:
        raise error("the number of partitions must be a positive integer")
    total = len(items)
    parts = min(partitions, total)

    def size_of(k):
        return chunk if parts == 0 else total // parts + (1 if k < total % parts else 0)

    names, k, left = [], 0, size_of(0)
    for run in _runs(items):
        if parts == 0:
            left = chunk  # chunks start afresh with each run
        i = 0
        while i < len(run):
            take = min(left, len(run) - i)
            names.append(_name(run[i:i + take]))
            i += take
            left -= take
            if left == 0:
                k += 1
                left = size_of(k)
    return names


def _options(kwargs, allowed):
    for key in kwargs:
        if key not in allowed:
            raise error("unknown argument '%s' (this takes %s)" % (key, ", ".join(sorted(allowed))))
    return kwargs


def _sorted(names, kwargs):
    return binarySort(names) if kwargs.get("binarySort") else names


def rangesplit(range, *extraRanges, **kwargs):
    """The frames of the ranges as strings: rangesplit('1-5x2') == ['1', '3', '5']."""
    _options(kwargs, {"binarySort", "removeDuplicates"})
    items = _items((range,) + extraRanges, kwargs.get("removeDuplicates", True))
    return _sorted([str(i) for i in items], kwargs)


def rangechunk(chunksize, range, *extraRanges, **kwargs):
    """The ranges in chunks of `chunksize` frames: rangechunk(5, '1-10') == ['1-5', '6-10']."""
    _options(kwargs, {"binarySort"})
    return _sorted(_split(_items((range,) + extraRanges), chunk=chunksize), kwargs)


def rangepartition(numPartitions, range, *extraRanges, **kwargs):
    """The ranges in `numPartitions` near-equal parts: rangepartition(2, '1-10') == ['1-5', '6-10']."""
    _options(kwargs, {"binarySort"})
    if isinstance(numPartitions, bool) or not isinstance(numPartitions, int) or numPartitions < 1:
        raise error("the number of partitions must be a positive integer")
    return _sorted(_split(_items((range,) + extraRanges), partitions=numPartitions), kwargs)


def _works(names):
    return [Work({"name": n}) for n in names]


def genframes(range, *extraRanges, **kwargs):
    """An agenda of one Work per frame: genframes('1-3') names '1', '2', '3'."""
    return _works(rangesplit(range, *extraRanges, **kwargs))


def genchunks(chunksize, range, *extraRanges, **kwargs):
    """An agenda of one Work per chunk of `chunksize` frames."""
    return _works(rangechunk(chunksize, range, *extraRanges, **kwargs))


def genpartitions(numPartitions, range, *extraRanges, **kwargs):
    """An agenda of `numPartitions` Work items of near-equal size."""
    return _works(rangepartition(numPartitions, range, *extraRanges, **kwargs))
