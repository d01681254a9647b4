# gdb on the UML kernel: make gdb, make attach.
# Included by the top-level Makefile.
