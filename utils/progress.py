"""Progress of long jobs that suits where it goes: a live line on a terminal, plain periodic
lines in a log file, a pipe or under CI.

tqdm and rich were considered: both keep rewriting one line with carriage returns when the
output is not a terminal (a redirected log then holds one line of several kilobytes), so neither
does the log-file half better than these few lines.
"""

import os
import sys
import time

LIVE_INTERVAL = 0.2  # Seconds between redraws of the live line.
PLAIN_INTERVAL = 10.0  # Seconds between plain progress lines.


def format_time(seconds):
    """Official compact time format: '12s', '3m 04s', '2h 05m 09s', '1d 02h 03m'."""
    s = int(round(float(seconds)))
    if s < 60:
        return f"{s}s"
    if s < 60 * 60:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 24 * 60 * 60:
        return f"{s // 3600}h {(s // 60) % 60:02d}m {s % 60:02d}s"
    return f"{s // 86400}d {(s // 3600) % 24:02d}h {(s // 60) % 60:02d}m"


def is_live(stream):
    """Whether `stream` is an interactive terminal that a live line suits (not under CI)."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts work done out of a known total and reports it: `12000 / 50000 images (24%),
    1510.2 images/s, ETA 25s`.

    On a terminal the line is redrawn in place at most every LIVE_INTERVAL seconds; elsewhere a
    full line is printed every PLAIN_INTERVAL seconds, so that a log holds one line per report.
    """

    def __init__(
        self,
        total,  # Amount of work expected (e.g. images).
        unit="images",  # What is counted, as shown after the numbers.
        stream=None,  # Where to report; None = sys.stdout at each report.
        live=None,  # Redraw one line in place; None = when the stream is a terminal.
        interval=None,  # Seconds between reports; None = LIVE_INTERVAL or PLAIN_INTERVAL.
        clock=time.monotonic,  # Time source (seconds).
    ):
        self.total, self.unit, self._stream, self._clock = int(total), unit, stream, clock
        self.live = is_live(self.stream) if live is None else bool(live)
        self.interval = interval if interval is not None else (LIVE_INTERVAL if self.live else PLAIN_INTERVAL)
        self.done = 0
        self._start = clock()
        self._last_report = None
        self._drawn = False  # A live line is on screen without its newline.

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def line(self):
        """The current report, without line ending."""
        elapsed = max(self._clock() - self._start, 1e-6)
        rate = self.done / elapsed
        text = f"{self.done} / {self.total} {self.unit}"
        if self.total > 0:
            text += f" ({100.0 * self.done / self.total:.0f}%)"
        text += f", {rate:.1f} {self.unit}/s"
        if 0 < self.done < self.total and rate > 0:
            text += f", ETA {format_time((self.total - self.done) / rate)}"
        return text

    def update(
        self,
        done,  # Work done so far (absolute, not an increment).
        force=False,  # Report now, whatever the interval.
    ):
        """Record progress; report when the interval has passed (or `force`)."""
        self.done = int(done)
        now = self._clock()
        if not force and self._last_report is not None and now - self._last_report < self.interval:
            return
        if not force and self._last_report is None and not self.live and now - self._start < self.interval:
            return  # Plain output: a job shorter than one interval prints only its summary.
        self._last_report = now
        if self.live:
            self.stream.write("\r" + self.line() + "\033[K")
            self._drawn = True
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(
        self,
        done=None,  # Final amount of work done; None = as last updated.
    ):
        """Finish the live line (a final report and a newline); plain output needs nothing."""
        if done is not None:
            self.done = int(done)
        if self.live:
            self.update(self.done, force=True)
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
