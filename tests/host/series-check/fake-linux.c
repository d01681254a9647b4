// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for the built kernel, for tests/host/series-check.sh: the
 * types, functions, calls and exports series-check asks the DWARF and the
 * symbol table of `linux` about, each declared in the kernel file it lives
 * in (#line), and nothing else.  -DBROKEN_TGID makes struct umd_info track
 * its driver by a number again, as before "umd: Track user space drivers
 * with struct pid": that row, and only that row, must turn absent.
 *
 * Built with -O1; noipa keeps every call a real call (direct ones; the
 * real UML kernel exercises the movabs+call form).
 */
#define noinline __attribute__((noipa, used))

struct task_struct { int pid; } init_task;	/* "this kernel has DWARF" */
struct pid { int nr; };
struct path { void *mnt, *dentry; };
struct file;
struct cred;
struct fs_struct;
struct poll_table_struct;

#line 1 "include/linux/umh.h"
struct subprocess_info {
	const char *path;
	char **argv;
	char **envp;
	int wait;
	int retval;
	int (*init)(struct subprocess_info *info, struct cred *new);
	void (*cleanup)(struct subprocess_info *info);
	void *data;
};

#line 1 "include/linux/usermode_driver.h"
struct umd_info {
	const char *driver_name;
	struct file *pipe_to_umh;
	struct file *pipe_from_umh;
	struct path wd;
#ifdef BROKEN_TGID
	int tgid;
#else
	struct pid *tgid;
#endif
};

#line 1 "include/linux/bpfilter.h"
struct bpfilter_umh_ops {
	struct umd_info info;
	int (*start)(void);
};
struct bpfilter_umh_ops bpfilter_ops;

#line 1 "fs/fs_struct.c"
noinline void set_fs_pwd(struct fs_struct *fs, const struct path *path)
{
	(void)fs;
	(void)path;
}

#line 1 "kernel/pid.c"
noinline void put_pid(struct pid *pid)
{
	(void)pid;
}

#line 1 "kernel/exit.c"
noinline _Bool thread_group_exited(struct pid *pid)
{
	return pid == 0;
}

#line 1 "kernel/fork.c"
noinline unsigned int pidfd_poll(struct pid *pid, struct poll_table_struct *pts)
{
	(void)pts;
	return thread_group_exited(pid) ? 1 : 0;
}

#line 1 "kernel/umh.c"
noinline int call_usermodehelper_exec_async(void *data)
{
	return data != 0;
}

noinline int call_usermodehelper_exec(struct subprocess_info *sub_info, int wait)
{
	return call_usermodehelper_exec_async(sub_info) + wait;
}

#line 1 "kernel/usermode_driver.c"
static struct fs_struct *current_fs;

noinline static int umd_setup(struct subprocess_info *info, struct cred *new)
{
	struct umd_info *umd_info = info->data;

	(void)new;
	set_fs_pwd(current_fs, &umd_info->wd);
	return 0;
}

noinline void umd_cleanup_helper(struct umd_info *info)
{
#ifndef BROKEN_TGID
	put_pid(info->tgid);
	info->tgid = 0;
#endif
}

noinline static void umd_cleanup(struct subprocess_info *info)
{
	if (info->retval)
		umd_cleanup_helper(info->data);
}

noinline int fork_usermode_driver(struct umd_info *info)
{
	const char *argv[] = { info->driver_name, 0 };
	struct subprocess_info sub = {
		.path = info->driver_name, .argv = (char **)argv,
		.init = umd_setup, .cleanup = umd_cleanup, .data = info,
	};

	return call_usermodehelper_exec(&sub, 1);
}

noinline int umd_load_blob(struct umd_info *info, const void *data, unsigned long len)
{
	return info == data || len == 0;
}

noinline int umd_unload_blob(struct umd_info *info)
{
	return info == 0;
}

/* What EXPORT_SYMBOL leaves in the symbol table. */
const void *__ksymtab_fork_usermode_driver = fork_usermode_driver;
const void *__ksymtab_umd_load_blob = umd_load_blob;
const void *__ksymtab_umd_unload_blob = umd_unload_blob;
const void *__ksymtab_umd_cleanup_helper = umd_cleanup_helper;
const void *__ksymtab_thread_group_exited = thread_group_exited;

int main(void)
{
	return fork_usermode_driver(&bpfilter_ops.info) + pidfd_poll(0, 0);
}
