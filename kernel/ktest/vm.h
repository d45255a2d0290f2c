/* In-kernel tests of the VM and user-mode contract (arch_vm_*, arch_user_run), KTEST builds. */
#ifndef KERNEL_KTEST_VM_H
#define KERNEL_KTEST_VM_H

#include <stdbool.h>

bool ktest_vm_map_lookup(void);
bool ktest_vm_oom(void);
bool ktest_user_syscall(void);
bool ktest_user_irq(void);
bool ktest_user_illegal(void);
bool ktest_vm_remap(void);
bool ktest_vm_asid(void);
bool ktest_user_null_syscall(void);
/* Destructive: a store to kernel text must stop the kernel with a report. */
bool ktest_kernel_wx(void);

#endif /* KERNEL_KTEST_VM_H */
