#!/usr/bin/env python3
"""mkarchive: pack user programs into the archive the kernel embeds (format: kernel/archive.h)."""
#
# Usage: scripts/mkarchive.py -o build/<arch>/user/archive.bin prog.elf...
# Each entry's name is the file's base name without ".elf".
#
# Layout, all integers little-endian:
#   header   magic "PXARCHV1" (8 bytes), u32 count, u32 total size in bytes
#   entries  count x { char name[32] (NUL-terminated, NUL-padded),
#                      u64 offset (from the archive's first byte), u64 size }
#   data     each file at an 8-byte aligned offset, zero padding between;
#            the total size is a multiple of 8.
import os
import struct
import sys

MAGIC = b"PXARCHV1"
HEADER = struct.Struct("<8sII")
ENTRY = struct.Struct("<32sQQ")
NAME_MAX = 31
COUNT_MAX = 256


def align8(n):
    return (n + 7) & ~7


def main(argv):
    if len(argv) < 3 or argv[1] != "-o":
        print("usage: mkarchive.py -o archive.bin file.elf...", file=sys.stderr)
        return 2
    out, paths = argv[2], argv[3:]
    if len(paths) > COUNT_MAX:
        print(f"mkarchive: at most {COUNT_MAX} programs", file=sys.stderr)
        return 1
    names, blobs = [], []
    for p in paths:
        name = os.path.basename(p)
        if name.endswith(".elf"):
            name = name[:-4]
        raw = name.encode()
        if not raw or len(raw) > NAME_MAX or b"\0" in raw:
            print(f"mkarchive: bad program name '{name}' (1..{NAME_MAX} bytes)", file=sys.stderr)
            return 1
        if raw in names:
            print(f"mkarchive: duplicate program name '{name}'", file=sys.stderr)
            return 1
        with open(p, "rb") as f:
            blobs.append(f.read())
        names.append(raw)

    off = align8(HEADER.size + ENTRY.size * len(names))
    table, data = [], bytearray()
    for raw, blob in zip(names, blobs):
        table.append(ENTRY.pack(raw, off, len(blob)))
        pad = align8(len(blob)) - len(blob)
        data += blob + b"\0" * pad
        off += len(blob) + pad
    head = HEADER.pack(MAGIC, len(names), off)
    body = head + b"".join(table)
    body += b"\0" * (align8(len(body)) - len(body))
    image = body + bytes(data)
    assert len(image) == off
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(image)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
