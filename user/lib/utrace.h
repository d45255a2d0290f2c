/* The user library's trace points (make TRACE=1): the reactor's completions, flushes; nothing otherwise. */
#ifndef USER_LIB_UTRACE_H
#define USER_LIB_UTRACE_H

#include <stdint.h>

#ifdef EXEC_TRACE
/* Hand the records kept so far to the kernel (SYS_trace_put). */
void utrace_flush(void);
/* The reactor takes the completion user_data (result res): wakes until
 * utrace_reap_done are that completion's. */
void utrace_reap(uint64_t user_data, int64_t res);
void utrace_reap_done(void);
#define UTR_FLUSH()          utrace_flush()
#define UTR_REAP(ud, res)    utrace_reap((ud), (res))
#define UTR_REAP_DONE()      utrace_reap_done()
#else
#define UTR_FLUSH()          ((void)0)
#define UTR_REAP(ud, res)    ((void)0)
#define UTR_REAP_DONE()      ((void)0)
#endif

#endif /* USER_LIB_UTRACE_H */
