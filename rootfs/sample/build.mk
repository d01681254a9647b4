# The sample user mode driver's guest program.
