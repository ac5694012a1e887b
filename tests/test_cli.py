"""Long command-line work shows a bar with the time left on a terminal, and stays quiet when its
output is not one; the bulk certificates and the summary report are written by the CLI."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
import zipfile
from pathlib import Path

from pypdf import PdfReader

from tests.conftest import Api, process_env

BAR = "剩余约"  # the bar's estimate of the time left


def kepuri(env: dict[str, str], *args: str, terminal: bool) -> tuple[int, str]:
    """`kepuri ARGS` in a process of its own, its output on a terminal (a pseudo-terminal of
    120 columns) or on pipes; returns its status and everything it wrote."""
    command = [sys.executable, "-m", "kepuri.cli", *args]
    if not terminal:
        done = subprocess.run(command, env=env, capture_output=True, timeout=300, check=False)
        return done.returncode, done.stdout.decode() + done.stderr.decode()
    ours, theirs = pty.openpty()
    fcntl.ioctl(theirs, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    process = subprocess.Popen(command, env=env, stdin=theirs, stdout=theirs, stderr=theirs)
    os.close(theirs)
    output = b""
    while True:
        try:
            chunk = os.read(ours, 65536)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        output += chunk
    os.close(ours)
    return process.wait(timeout=300), output.decode(errors="replace")


async def test_long_commands_show_progress_only_on_a_terminal(
    api: Api, base_settings, backend, tmp_path: Path
):
    env = process_env(base_settings, backend)

    async def run(*args: str, terminal: bool) -> tuple[int, str]:
        return await asyncio.to_thread(kepuri, env, *args, terminal=terminal)

    status, shown = await run("migrate", terminal=True)
    assert status == 0, shown
    assert "行政区划: 100%" in shown and BAR in shown
    status, logged = await run("seed-demo", terminal=False)
    assert status == 0, logged
    assert "演示数据" not in logged and BAR not in logged and "13800000001" in logged

    certificates = tmp_path / "certificates.zip"
    status, shown = await run("certificates", "2020", "--output", str(certificates), terminal=True)
    assert status == 0, shown
    assert "荣誉证书: 100%" in shown and "3/3 张" in shown and BAR in shown
    with zipfile.ZipFile(certificates) as archive:
        assert sum(name.endswith(".pdf") for name in archive.namelist()) == 4  # 3 and the whole

    report = tmp_path / "report.pdf"
    status, logged = await run("report", "2020", "--output", str(report), terminal=False)
    assert status == 0, logged
    assert BAR not in logged and "Step" not in logged  # nor WeasyPrint's own progress lines
    text = PdfReader(io.BytesIO(report.read_bytes())).pages[0].extract_text()
    assert "2020年全国科普日活动总结报告" in text and "出具单位" in text

    status, refused = await run("report", "2020", "--region", "510104", terminal=False)
    assert status == 2 and "请选择省级或地市级行政区划" in refused
    status, refused = await run("certificates", "2023", terminal=False)
    assert status == 2 and "尚无确定的表扬名单" in refused
