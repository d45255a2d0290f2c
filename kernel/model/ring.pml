/* SPIN model of the ring's SQ/CQ protocol with overflow and cancellation (kernel/ring.c). */

/*
 * What is modelled.  A ring of 1 SQ entry, so a CQ of 2 and a backlog of
 * 4 (ring_setup: 2 x CQ entries).  The program submits seven entries one
 * at a time without reaping until ring_enter says -PX_EBUSY, then reaps
 * what it sees and waits in ring_enter(min_complete = 1) until every
 * completion came.  The entries: READ of 2 bytes (user_data 1) from a
 * pipe, CANCEL of user_data 1 (2), NOP (3), READ of 1 byte (4), NOPs (5,
 * 6, 7).  Another process writes 3 bytes into the pipe, one at a time
 * (enough for both READs, whatever the first one takes).
 * Each READ runs as its own task (op_poll); CANCEL marks it and wakes it.
 * `lock` is the ring's spin lock; SQ and CQ indices are the shared words
 * (store-release / load-acquire in the C, plain steps here: SPIN explores
 * sequential consistency, so the orderings appear as the order of steps).
 *
 * Where each step comes from:
 *   program           pollux.h's protocol: SQE, then SQ tail; CQ tail,
 *                     CQE, then CQ head
 *   ring_enter        ring_submit (ring.c): rq_enter_check, rsq_available,
 *                     rq_reserve (admission), rsq_take, op_start, rq_add,
 *                     rq_publish, rsq_publish; -PX_EBUSY if nothing was
 *                     consumed; then ring_wait_poll: arm the notify
 *                     before looking (rq_flush, rq_ready)
 *   op task           op_poll: op_begin (cancel checked under the lock),
 *                     io_poll (the pipe read), op_end, op_finish (rq_post,
 *                     unlink, notify_all)
 *   op_spawn          links the op unless it already finished
 *   CANCEL            op_cancel: the first linked op with that user_data
 *                     and no cancel yet: mark it, wake it; else -ENOENT
 *   ring_queue.c      rq_reserve (owed + backlog < backlog size), rq_add
 *                     (flush, then CQ if room and no backlog, else
 *                     backlog), flush, load_head
 *
 * Checked: each consumed SQE gets exactly one CQE (never lost, never
 * twice), the SQE the kernel takes is the one the program wrote, the
 * backlog never overflows (admission), no byte is lost on cancel (bytes
 * written = bytes in READ completions + bytes left in the pipe; a READ
 * that completed with -ECANCELED took nothing), CANCEL answers 0 or
 * -ENOENT, and at quiescence no lost wake (the program got every CQE and
 * finished; no op is left) and nothing owed.
 *
 * Known-bad variants (scripts/model.sh expects SPIN to reject each):
 *   BAD_CANCEL_AFTER_IO  op_poll looks at the cancel flag after the
 *                        read instead of before (op_begin): a read that
 *                        took bytes completes -ECANCELED, the bytes are
 *                        gone.
 *   BAD_RESERVE_NO_OWED  rq_reserve counts only the backlog, not the
 *                        completions still owed by ops in flight: an op
 *                        finishing later finds the backlog full.
 *   BAD_CQ_TAIL_FIRST    a post publishes the CQ tail before it writes
 *                        the CQE (publish before write_cqe): the program,
 *                        reaping meanwhile, reads a stale entry.
 *
 * The SQ side is read only inside the program's own ring_enter (no
 * kernel thread polls the SQ, and a process has one thread), so the
 * order of its SQE and tail stores matters to no other party here.
 */

#define NSQE     7
#define CQ_N     2
#define BL_CAP   4
#define OPS_MAX  2
#define ECANCELED 125
#define ENOENT   2
#define EBUSY    16
#define OP_NOP   0
#define OP_READ  1
#define OP_CANCEL 6

/* what the program submits, by user_data (1..NSQE) */
#define SQE_OP(u)  ((u) == 1 || (u) == 4 -> OP_READ : ((u) == 2 -> OP_CANCEL : OP_NOP))
#define SQE_ARG(u) ((u) == 1 -> 2 : ((u) == 2 -> 1 : ((u) == 4 -> 1 : 0)))

bit lock;
/* shared SQ (1 entry) */
byte sq_op, sq_ud, sq_arg;
bit sq_filled;          /* ghost: the program wrote an entry the kernel has not taken */
byte sq_tail, sq_head;  /* shared words */
byte k_sq_head;         /* the kernel's own */
/* shared CQ */
byte cq_ud[CQ_N];
short cq_res[CQ_N];
byte cq_tail, cq_head;  /* shared words */
/* the kernel's rq */
byte k_cq_tail, k_cq_head;
byte bl_ud[BL_CAP];
short bl_res[BL_CAP];
byte bl_head, bl_count, owed;
/* ops: slot 0 for user_data 1, slot 1 for user_data 4 */
bit op_linked[2], op_finished[2], op_cxl[2], op_waiting[2], op_woken[2];
byte nops;
byte gen;               /* notify_all count (r->cq_ready) */
/* the pipe */
byte pipe;
byte written;
/* the program's view */
byte seen;              /* bit u: a CQE for user_data u was reaped */
byte read_bytes;        /* bytes the READ completions reported */
bit prog_done;

inline lock_acquire() { atomic { lock == 0 -> lock = 1 } }
inline lock_release() { assert(lock == 1); lock = 0 }

/* ---- ring_queue.c, under the ring lock ---- */

/* flush: load_head, then backlog -> CQ while room */
inline flush(room) {
	k_cq_head = cq_head;
	assert((k_cq_tail - k_cq_head) <= CQ_N);
	room = CQ_N - (k_cq_tail - k_cq_head);
	do
	:: bl_count > 0 && room > 0 ->
		cq_ud[k_cq_tail % CQ_N] = bl_ud[bl_head];
		cq_res[k_cq_tail % CQ_N] = bl_res[bl_head];
		k_cq_tail++;
		bl_head = (bl_head + 1) % BL_CAP;
		bl_count--;
		room--
	:: else -> break
	od
}

inline publish() {
	cq_tail = k_cq_tail
}

inline rq_reserve(ok) {
#ifdef BAD_RESERVE_NO_OWED
	if
	:: bl_count >= BL_CAP -> ok = 0
	:: else -> owed++; ok = 1
	fi
#else
	if
	:: owed + bl_count >= BL_CAP -> ok = 0
	:: else -> owed++; ok = 1
	fi
#endif
}

inline rq_add(ud, res, room) {
	if
	:: owed > 0 -> owed--
	:: else -> skip
	fi;
	flush(room);
	if
	:: bl_count == 0 && room > 0 ->
#ifdef BAD_CQ_TAIL_FIRST
		k_cq_tail++;
		publish();
		cq_ud[(k_cq_tail - 1) % CQ_N] = ud;
		cq_res[(k_cq_tail - 1) % CQ_N] = res
#else
		cq_ud[k_cq_tail % CQ_N] = ud;
		cq_res[k_cq_tail % CQ_N] = res;
		k_cq_tail++
#endif
	:: else ->
		assert(bl_count < BL_CAP);	/* admission kept a place */
		bl_ud[(bl_head + bl_count) % BL_CAP] = ud;
		bl_res[(bl_head + bl_count) % BL_CAP] = res;
		bl_count++
	fi
}

/* ---- an operation's task (op_poll) ---- */

/* op_finish: post the CQE, leave the ring, notify */
inline op_finish(i, ud, res, room) {
	lock_acquire();
	rq_add(ud, res, room);
	publish();
	op_linked[i] = 0;
	op_finished[i] = 1;
	nops--;
	lock_release();
	gen++
}

proctype op(byte i; byte ud; byte want) {
	bit ok;
	byte n, room;
poll:
#ifdef BAD_CANCEL_AFTER_IO
	atomic {
		if
		:: pipe > 0 -> n = (pipe < want -> pipe : want); pipe = pipe - n; ok = 1
		:: else -> op_waiting[i] = 1; ok = 0
		fi
	};
	if
	:: !ok -> atomic { op_woken[i] || op_cxl[i] -> op_woken[i] = 0 }; goto poll
	:: else -> skip
	fi;
	lock_acquire();
	ok = !op_cxl[i];
	lock_release();
	if
	:: !ok -> op_finish(i, ud, -ECANCELED, room)
	:: else -> op_finish(i, ud, n, room)
	fi
#else
	/* op_begin */
	lock_acquire();
	ok = !op_cxl[i];
	lock_release();
	if
	:: !ok -> op_finish(i, ud, -ECANCELED, room)
	:: else ->
		/* io_poll: the pipe read (pipe lock: check and register at once) */
		atomic {
			if
			:: pipe > 0 -> n = (pipe < want -> pipe : want); pipe = pipe - n; ok = 1
			:: else -> op_waiting[i] = 1; ok = 0
			fi
		};
		/* op_end */
		if
		:: ok -> op_finish(i, ud, n, room)
		:: else ->
			atomic { op_woken[i] -> op_woken[i] = 0; n = 0; room = 0 };
			goto poll
		fi
	fi
#endif
}

/* The pipe's writer: a byte at a time, waking a waiting reader. */
proctype writer() {
	byte k;
	for (k : 1 .. 3) {
		atomic {
			pipe++; written++;
			if
			:: op_waiting[0] -> op_waiting[0] = 0; op_woken[0] = 1
			:: else -> skip
			fi;
			if
			:: op_waiting[1] -> op_waiting[1] = 0; op_woken[1] = 1
			:: else -> skip
			fi
		}
	}
}

/* op_spawn + the op's task */
inline op_spawn(u, ok) {
	lock_acquire();
	ok = (nops < OPS_MAX);
	if
	:: ok -> nops++
	:: else -> skip
	fi;
	lock_release();
	if
	:: ok ->
		if
		:: u == 1 -> run op(0, 1, SQE_ARG(1))
		:: else -> run op(1, 4, SQE_ARG(4))
		fi;
		lock_acquire();
		if
		:: !op_finished[(u == 1 -> 0 : 1)] -> op_linked[(u == 1 -> 0 : 1)] = 1
		:: else -> skip
		fi;
		lock_release()
	:: else -> skip
	fi
}

/* op_cancel(target): res 0 or -ENOENT */
inline op_cancel(target, res) {
	lock_acquire();
	if
	:: target == 1 && op_linked[0] && !op_cxl[0] ->
		op_cxl[0] = 1; res = 0
	:: target == 4 && op_linked[1] && !op_cxl[1] ->
		op_cxl[1] = 1; res = 0
	:: else -> res = -ENOENT
	fi;
	lock_release();
	/* task_wake_by_ref: the op polls again */
	atomic {
		if
		:: res == 0 && target == 1 -> op_waiting[0] = 0; op_woken[0] = 1
		:: res == 0 && target == 4 -> op_waiting[1] = 0; op_woken[1] = 1
		:: else -> skip
		fi
	}
}

/* ring_submit with to_submit = 1: the number consumed, or -EBUSY */
inline ring_submit(ret, room, ok, u, o, a, res, post) {
	lock_acquire();
	flush(room);
	publish();
	post = 0;
	ret = 0;
	do
	:: post -> rq_add(u, res, room); post = 0
	:: !post && (ret == 1 || (sq_tail - k_sq_head) == 0) -> break
	:: !post && ret == 0 && (sq_tail - k_sq_head) == 1 ->
		rq_reserve(ok);
		if
		:: !ok -> break
		:: else -> skip
		fi;
		/* rsq_take: one copy, then only the copy is looked at */
		atomic {
			assert(sq_filled);
			o = sq_op; u = sq_ud; a = sq_arg;
			sq_filled = 0
		};
		assert(o == SQE_OP(u) && a == SQE_ARG(u));
		k_sq_head++;
		ret = 1;
		if
		:: o == OP_NOP -> res = 0; post = 1
		:: else ->
			lock_release();
			if
			:: o == OP_CANCEL -> op_cancel(a, res); post = 1
			:: o == OP_READ ->
				op_spawn(u, ok);
				assert(ok);	/* two READs: never -EAGAIN here */
				post = 0
			fi;
			lock_acquire()
		fi
	od;
	publish();
	sq_head = k_sq_head;
	lock_release();
	if
	:: ret == 0 && (sq_tail - k_sq_head) > 0 -> ret = EBUSY
	:: else -> skip
	fi
}

/* reap every CQE the program can see */
inline reap(h, t, u, r) {
	t = cq_tail;
	h = cq_head;
	do
	:: h != t ->
		u = cq_ud[h % CQ_N];
		r = cq_res[h % CQ_N];
		assert(u >= 1 && u <= NSQE);
		assert(!(seen & (1 << u)));	/* exactly once */
		seen = seen | (1 << u);
		if
		:: u == 1 || u == 4 ->
			assert(r >= 0 || r == -ECANCELED);
			if
			:: r > 0 -> read_bytes = read_bytes + r
			:: else -> skip
			fi
		:: u == 2 -> assert(r == 0 || r == -ENOENT)
		:: else -> assert(r == 0)
		fi;
		h++;
		cq_head = h
	:: else -> break
	od
}

proctype program() {
	byte next = 1, ret, room, u, o, a, h, t, g, post;
	short res;
	bit ok;

	do
	:: next <= NSQE ->
		/* write the SQE, then publish the tail */
		if
		:: sq_tail == sq_head ->
			atomic { sq_op = SQE_OP(next); sq_ud = next; sq_arg = SQE_ARG(next); sq_filled = 1 };
			sq_tail++;
			next++
		:: else -> skip
		fi;
		ring_submit(ret, room, ok, u, o, a, res, post);
		if
		:: ret == EBUSY -> reap(h, t, u, res)
		:: else -> skip
		fi
	:: next > NSQE ->
		reap(h, t, u, res);
		if
		:: seen == 254 -> break	/* user_data 1..7 */
		:: else -> skip
		fi;
		/* ring_enter(what is left, 1, forever): submit, then
		 * (unless -EBUSY) ring_wait_poll */
		ring_submit(ret, room, ok, u, o, a, res, post);
		if
		:: ret == EBUSY -> goto again
		:: else -> skip
		fi;
		g = gen;	/* armed before looking */
		lock_acquire();
		flush(room);
		publish();
		ok = (k_cq_tail != k_cq_head);
		lock_release();
		if
		:: !ok -> atomic { gen != g }	/* a post wakes us */
		:: else -> skip
		fi;
again:		skip
	od;
	prog_done = 1
}

proctype monitor() {
	timeout ->
	assert(prog_done);			/* every CQE came: no lost wake */
	assert(nops == 0 && owed == 0 && bl_count == 0);
	assert(written == read_bytes + pipe)	/* no byte lost */
}

init {
	atomic {
		run program();
		run writer();
		run monitor()
	}
}
