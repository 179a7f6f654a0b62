# Qube's driver for a kept-alive Blender, run by the blender job type as
#   blender -b SCENE --python qube_blender_driver.py -- [--engine E] [--output PATH] [--format F]
# It reads one command per line from standard input:
#   render F [F ...]   set each frame, render it, write it, print "QUBE_OUTPUT: <file>"
#   echo A B           print "AB" (the job type's end-of-item sentinel)
#   quit               leave; Blender then exits
# Errors are printed as "QUBE_ERROR: ..." on standard error and the driver goes on.
import argparse
import ctypes
import os
import sys
import traceback

import bpy

_libc = ctypes.CDLL(None)


def say(text):
    # Blender prints its render progress through C stdio, buffered apart from
    # Python's: flush it first so that it stays before what follows.
    _libc.fflush(None)
    print(text, flush=True)


def error(text):
    _libc.fflush(None)
    print("QUBE_ERROR: " + text, file=sys.stderr, flush=True)


def options():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    parser = argparse.ArgumentParser(prog="qube_blender_driver")
    parser.add_argument("--engine")
    parser.add_argument("--output")
    parser.add_argument("--format")
    return parser.parse_args(argv)


def setup(opts):
    if not bpy.data.filepath:
        # Blender goes on with its default scene when the file cannot be read.
        error("the scene was not loaded (see Blender's message above)")
        sys.stdout.flush()
        os._exit(2)
    scene = bpy.context.scene
    if opts.engine:
        scene.render.engine = opts.engine
    if opts.output:
        scene.render.filepath = opts.output
    if opts.format:
        scene.render.image_settings.file_format = opts.format
    if scene.render.engine == "CYCLES":
        # Debian's Blender is built without OpenImageDenoise: a denoised render fails.
        scene.cycles.use_denoising = False
        scene.cycles.use_preview_denoising = False


def render(frames):
    scene = bpy.context.scene
    for frame in frames:
        scene.frame_set(frame)
        path = bpy.path.abspath(scene.render.frame_path(frame=frame))
        # Saved by hand: write_still does not put the frame number in the name
        # of a still rendered this way.
        bpy.ops.render.render()
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        bpy.data.images["Render Result"].save_render(filepath=path, scene=scene)
        say("QUBE_OUTPUT: " + path)


def main():
    setup(options())
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "render":
                render([int(w) for w in words[1:]])
            elif words[0] == "echo":
                say("".join(words[1:]))
            elif words[0] == "quit":
                break
            else:
                error("unknown command: " + line.strip())
        except Exception as e:  # one frame's failure is that item's, not the instance's
            traceback.print_exc()
            error("%s: %s" % (type(e).__name__, str(e).strip()))
    _libc.fflush(None)


main()
