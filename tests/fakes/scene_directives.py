# Shared by the fake applications: a fake scene (or Nuke script) is a text file
# of directives, one per line, that tells the fake how to behave:
#   write NAME PATTERN [disabled]   a Write node (nuke) writing PATTERN (#### = frame)
#   error_frame N                   rendering frame N reports an error
#   crash_frame N                   rendering frame N kills the application (SIGSEGV)
#   hang_frame N                    rendering frame N never finishes
#   start_log FILE                  append "start PID" to FILE when the scene is opened
#   quit_log FILE                   append "quit PID" to FILE on a clean quit
import os
import signal
import time


class Scene:
    def __init__(self, path):
        self.path = path
        self.writes = []  # (name, pattern, enabled)
        self.frames = {"error_frame": set(), "crash_frame": set(), "hang_frame": set()}
        self.logs = {}
        with open(path) as f:
            for line in f:
                words = line.split()
                if not words or words[0].startswith("#"):
                    continue
                if words[0] == "write":
                    self.writes.append((words[1], words[2], "disabled" not in words[3:]))
                elif words[0] in self.frames:
                    self.frames[words[0]].add(int(words[1]))
                elif words[0] in ("start_log", "quit_log"):
                    self.logs[words[0]] = words[1]
        self.log("start_log", "start")

    def log(self, which, word):
        if which in self.logs:
            with open(self.logs[which], "a") as f:
                f.write("%s %d\n" % (word, os.getpid()))

    def render(self, frame, what):
        """Misbehaves as the scene asks; returns an error message, or None."""
        if frame in self.frames["crash_frame"]:
            os.kill(os.getpid(), signal.SIGSEGV)
        if frame in self.frames["hang_frame"]:
            while True:
                time.sleep(60)
        if frame in self.frames["error_frame"]:
            return "%s: frame %d failed (the scene asks for it)" % (what, frame)
        return None


def frame_path(pattern, frame):
    return pattern.replace("####", "%04d" % frame)


def write_image(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(text + "\n")
