"""The child's print streams: the first part reaches the server, the rest is dropped in the child."""
from __future__ import annotations

import os

from grader.sandbox.streams import KeptThenDropped, text_stream


def _drain(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def test_the_first_bytes_are_written_and_the_rest_is_reported_written_but_dropped():
    read_end, write_end = os.pipe()
    try:
        raw = KeptThenDropped(write_end, keep=100)
        assert raw.write(b"a" * 60) == 60
        assert raw.write(memoryview(b"b" * (1 << 20))) == 1 << 20   # more than a pipe holds: nothing blocks
        assert raw.write(b"c" * 10) == 10
        assert _drain(read_end) == b"a" * 60 + b"b" * 40
        assert raw.fileno() == write_end and raw.name == write_end and raw.writable()
    finally:
        os.close(read_end)
        os.close(write_end)


def test_print_through_the_text_stream_is_line_buffered_utf8_and_capped():
    read_end, write_end = os.pipe()
    try:
        stream = text_stream(write_end, keep=20)
        print("héllo", file=stream)                      # a line reaches the pipe at once
        assert _drain(read_end) == "héllo\n".encode()
        print("x" * 10_000_000, file=stream)             # 10 MB: 13 bytes of it are kept
        stream.buffer.write(b"more")
        stream.flush()
        assert _drain(read_end) == b"x" * (20 - len("héllo\n".encode()))
        assert stream.fileno() == write_end and not stream.isatty()
    finally:
        os.close(read_end)
        os.close(write_end)
