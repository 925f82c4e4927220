"""Resource bounds: what fgir refuses to build, so that no spec can exhaust the machine.

Every bound is checked statically, before anything is allocated; each refusal is
an ordinary diagnostic.
"""

MAX_VALUE = 1 << 20          # any number a spec gives a block (a width, a depth, a ratio): beyond it, lists explode
MAX_REPS = 1024              # repetitions of one Repeat (ResNet-1202 has 200 blocks a stage, DenseNet-264 64)
MAX_TOTAL_REPS = 16384       # repetitions in a whole network
DEFAULT_MAX_PARAMS = 2_000_000_000  # parameters a backend will allocate (--max-params)
