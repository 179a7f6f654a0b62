# Writes a tiny scene for tests and benchmarks: Blender's default cube, camera
# and light, rendered by Cycles on the CPU at 32x32 with one sample (about 0.1 s a
# frame kept alive), frames 1-20.
#   blender -b --factory-startup --python make_tiny_scene.py -- OUT.blend
import sys

import bpy

out = sys.argv[sys.argv.index("--") + 1]
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.cycles.device = "CPU"
scene.cycles.samples = 1
scene.cycles.use_denoising = False  # Debian's Blender has no OpenImageDenoise
scene.render.resolution_x = 32
scene.render.resolution_y = 32
scene.render.resolution_percentage = 100
scene.frame_start = 1
scene.frame_end = 20
bpy.ops.wm.save_as_mainfile(filepath=out)
