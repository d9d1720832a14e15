#ifndef GROUPSYNC_SCHEDULING_H
#define GROUPSYNC_SCHEDULING_H

/// Asks the kernel to give the calling thread scheduler slices of `nanoseconds` (Linux
/// sched_setattr's sched_runtime, which EEVDF takes as the task's slice since Linux 6.12),
/// keeping its policy and nice value. Returns 0, or -1 with errno set (ENOSYS where there
/// is no sched_setattr; older kernels accept the call and keep their own slices).
int groupsync_set_thread_slice(unsigned long long nanoseconds);

#endif
