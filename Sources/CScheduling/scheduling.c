#define _GNU_SOURCE
#include "scheduling.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/types.h>
#include <sys/syscall.h>

/* The kernel's struct sched_attr (glibc before 2.41 has neither it nor a wrapper). */
struct groupsync_sched_attr {
    __u32 size;
    __u32 sched_policy;
    __u64 sched_flags;
    __s32 sched_nice;
    __u32 sched_priority;
    __u64 sched_runtime;
    __u64 sched_deadline;
    __u64 sched_period;
    __u32 sched_util_min;
    __u32 sched_util_max;
};

int groupsync_set_thread_slice(unsigned long long nanoseconds) {
    struct groupsync_sched_attr attr;
    memset(&attr, 0, sizeof attr);
    if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return -1;
    attr.size = sizeof attr;
    attr.sched_flags = 0;
    attr.sched_runtime = nanoseconds;
    return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}
#else
int groupsync_set_thread_slice(unsigned long long nanoseconds) {
    (void)nanoseconds;
    errno = ENOSYS;
    return -1;
}
#endif
