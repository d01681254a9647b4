#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fault sweep: every UMD operation (bpfilter's and the sample
# driver's load, restart, unload; bpfilter's implicit load) with its Nth
# allocation failed, N = 1, 2, ... in the caller and in the usermode
# helper's tasks, each attempt checked with the exact ledger
# (rootfs/tests/umd_faults.c says how; README "The fault sweep").
#
# One guest; one result per operation, then the kernel log (no splat
# beyond the allowlist; the injected faults' own reports are not splats)
# and the host (nothing left behind).
#
# Environment: FAULT_OPS (operations, comma list: umd_faults --list),
# FAULT_MAX (the largest N per operation and task), FAULT_DEEP (1: the
# helper tasks of the module loads too), UMDLAB_BREAK
# (fault-leak: the ledger must catch a file kept open).
. "$TOP/tests/lib.sh"

OPS="bpfilter_load bpfilter_request_load bpfilter_restart bpfilter_unload
	sample_load sample_restart sample_unload"
plan $(($(echo $OPS | wc -w) + 2))

config_or_skip CONFIG_FAILSLAB "this kernel has no fault injection (uml-config/faults.config)" \
	$OPS kernel-log-clean host-clean || exit 0

# The sabotage switch breaks one operation's sweep: only that one runs.
case ",${UMDLAB_BREAK:-}," in
*,fault-leak,*) FAULT_OPS=${FAULT_OPS:-bpfilter-request-load} ;;
esac

m0=$(shmfiles)
# slab_nomerge: exact object counts for the ledger; loglevel=7: every
# message reaches the log that is scanned.  slub_debug on the files and
# pids: a put of one already freed (an error path releasing what it never
# got) writes into a poisoned object, which SLUB reports ("Poison
# overwritten") when the object is next allocated, instead of passing
# unseen until the memory happens to be reused.
export APPEND="${APPEND:+$APPEND }slab_nomerge slub_debug=FZPU,filp,pid loglevel=7 kunit.enable=0"
GUEST_TIMEOUT=${GUEST_TIMEOUT:-600} guest_run "D=/run/umdlab
FAULT_OPS=${FAULT_OPS:-} FAULT_MAX=${FAULT_MAX:-} FAULT_DEEP=${FAULT_DEEP:-} UMDLAB_BREAK=${UMDLAB_BREAK:-} \
/usr/lib/umdlab/scenarios/umd_faults > \$D/faults.tap 2>&1
echo \$? > \$D/faults.rc"
ctl=$RUNDIR/$LAST_UMID
guest_err=$(guest_status_err "$RC")

# One result per operation: the k-th TAP result of umd_faults.
k=0
for t in $OPS; do
	k=$((k + 1))
	report_tap "$t" $k "$ctl/faults.tap" "$guest_err" "the fault sweep of $t failed (diagnostics above)"
done

# The console log only: the sweep's fault reports overrun the kernel's
# ring buffer, so a dmesg at the end would start inside one of them.
kernel_log_verdict "$guest_err" " (an injected fault's own report is not one)" "$LOG"
host_clean_verdict "$m0"
done_testing
