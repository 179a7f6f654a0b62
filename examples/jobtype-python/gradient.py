"""The `gradient` job type: one PNG per frame, a colour gradient that moves
with the frame number, written with the standard library only (zlib, struct).

Package keys: outputpath (required; #### becomes the zero-padded frame number),
width and height (pixels, default 64 x 48).
"""
import re
import struct
import sys
import zlib

try:
    import qb
except ImportError:  # as Qube!'s examples do: the installation's module
    import os
    sys.path.append(os.path.join(os.environ.get('QBDIR', ''), 'api', 'python'))
    import qb


def png(width, height, rows):
    def chunk(kind, data):
        body = kind + data
        return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body) & 0xffffffff)
    raw = b''.join(b'\x00' + row for row in rows)  # filter type 0 per row
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b''))


def gradient(width, height, frame):
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            row += bytes(((x * 255 // max(width - 1, 1) + frame * 16) % 256,
                          y * 255 // max(height - 1, 1),
                          (frame * 32) % 256))
        rows.append(bytes(row))
    return png(width, height, rows)


def frames(name):
    """The frames of an agenda item: "7", "1-4", "1-9x2" or "10-1"."""
    m = re.match(r'^(-?\d+)(?:-(-?\d+)(?:x(\d+))?)?$', name)
    if not m:
        raise ValueError('agenda item %r is not a frame or a range of frames' % name)
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else first
    step = int(m.group(3) or 1)
    if last < first:  # a descending range, "10-1"
        return range(first, last - 1, -step)
    return range(first, last + 1, step)


def render(work, package):
    pattern = package['outputpath']
    width, height = int(package.get('width', 64)), int(package.get('height', 48))
    outputs = []
    for frame in frames(work['name']):
        path = pattern.replace('####', '%04d' % frame)
        with open(path, 'wb') as f:
            f.write(gradient(width, height, frame))
        print('frame %d: wrote %s' % (frame, path))
        outputs.append(path)
    return outputs


def main():
    job = qb.jobobj()
    package = job.get('package') or {}
    if 'outputpath' not in package:
        raise KeyError("the gradient job type needs the package's 'outputpath'")
    print('gradient job %s: started once for this instance' % job['id'])
    while True:
        work = qb.requestwork()
        if work['status'] in ('complete', 'pending', 'blocked'):
            break  # no more work for this instance
        try:
            work['resultpackage'] = {'outputs': render(work, package)}
            work['status'] = 'complete'
        except Exception as e:
            print('frame %s failed: %s' % (work['name'], e), file=sys.stderr)
            work['status'] = 'failed'
        qb.reportwork(work)
    qb.reportjob('complete')


if __name__ == '__main__':
    main()
