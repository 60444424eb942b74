#!/usr/bin/env bash
# The waste reference suite (waste_reference.sh: ~2,000 random traces
# against an independent model) again, with the hash tables of the
# classifier replaced by their sorted index from the start
# (TOKACCT_WASTE_PROBE_BUDGET=-1 in the server's environment): the index a
# table gives way to when keys collide must give the same answers.
export TOKACCT_WASTE_PROBE_BUDGET=-1
exec bash "$(dirname "$0")/waste_reference.sh" "$@"
