#!/bin/sh
# trail.sh DIR "FLAGS": the counterexample in DIR (a run of check.sh), as the
# parties' steps: one line each, from the model's printf annotations.
cd "$1" && spin -t $2 logbuf.pml 2>&1 | grep -v '^ *$' | grep -v '^ltl\|^#processes\|processes created\|^\s\+[a-z_]*\[\?[0-9]*\]\? = \|^\s\+sb\[\|^\t\|^ *[0-9]*:\s*proc .* (state' 
