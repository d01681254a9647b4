# Guest test programs (static C) and the suites they belong to.
# Included by the top-level Makefile; adds prerequisites to guest-progs.
