/* SPIN model of the task state word (executor/task.h, transitions (1)-(12)). */

/*
 * What is modelled.  One task, spawned with a join handle, whose future
 * returns Ready once two events have happened.  Two workers pop it from
 * a run queue and run task_run; two event sources each hold a waker
 * clone (a reference) and wake it, one by value and one by reference;
 * the join handle's owner either joins (polling again on a spurious wake
 * as well), aborts and then joins, or polls once and detaches.  Every
 * read-modify-write of the state word is one atomic step, as it is in
 * the C (an atomic RMW or a CAS); SPIN explores every interleaving of
 * them under sequential consistency.  Memory order is not modelled: the
 * C's acquire/release pairs are checked by the TSAN and stress host tests.
 *
 * Where each step comes from (names in task_impl.h and task.c):
 *   (1)  task_fill: the initial st, queued = 1
 *   (2)  task_run_inl: fetch_add(RUNNING - SCHEDULED)
 *   (3)/(5) task_wake_by_ref: fetch_or(SCHEDULED), queue if it was IDLE;
 *        task_wake_by_val: CAS((s | SCHEDULED) - REF_ONE)
 *   (4)  task_run_inl: fetch_sub(RUNNING); requeue if SCHEDULED came
 *   (6)  task_complete_inl: fetch_add(COMPLETE + READY - RUNNING)
 *   (7)  task_run_inl on CANCELLED: future_drop, task_complete_inl(true)
 *        (CAS loop)
 *   (8)  task_complete_inl: JOIN_WAKER set: take the trailer's waker,
 *        wake it, then fetch_sub(REF_ONE + JOIN_WAKER)
 *   (9)  join_handle_abort: CAS +CANCELLED +SCHEDULED, queue if IDLE
 *   (10) join_handle_poll (fast path) and join_handle_poll_slow
 *   (11) join_handle_detach, task_join_release_complete
 *   (12) task_unref_inl / task_release: the count reaches 0
 *
 * Checked: no double poll (one worker at a time inside the future, never
 * after COMPLETE or after the drop), a task sits in a run queue at most
 * once, no use after free (every access to the state word and the
 * trailer asserts the storage is live), the join waker slot is written
 * only by its owner (JOIN_WAKER rules in task.h), and at quiescence
 * (SPIN's timeout: nothing can move) no lost wake and no leak: the task
 * completed, its storage was released, the joiner finished with the
 * right result.
 *
 * Known-bad variants (scripts/model.sh expects SPIN to reject each):
 *   BAD_IDLE_STORE    (4) as a load then a store instead of one RMW:
 *                     a wake landing in between is lost.
 *   BAD_WAKE_TESTSET  task_wake_by_ref tests IDLE, then sets SCHEDULED
 *                     in a second step: two wakers both queue the task.
 *   BAD_UNREF_FIRST   (8) in the wrong order: drop the executor's
 *                     reference and JOIN_WAKER before taking the waker.
 *   BAD_ABORT_RUNNING (9) sets only CANCELLED on a RUNNING task, and
 *                     task_run, seeing CANCELLED without SCHEDULED after
 *                     the poll, queues it with a second RMW: a wake
 *                     between the two RMWs queues the task, another
 *                     worker starts it, and the second RMW queues the
 *                     running task again (a double poll, then a run of a
 *                     freed task).  This is why (9) sets both at once.
 */

#define SCHED  1
#define RUN    2
#define COMP   4
#define CANC   8
#define JI     16
#define JW     32
#define READY  64
#define REF    256

int st;            /* the state word */
bit freed;         /* (12) the storage went back */
byte queued;       /* entries of the task in run queues */
byte polling;      /* workers inside the future's poll or drop */
bit ev1, ev2;      /* what the future waits for */
bit out_ready;     /* the future returned Ready (output written) */
bit dropped;       /* future_drop ran */
byte trailer;      /* join waker slot: 0 empty, 1 the joiner's waker */
bit joiner_woken;  /* the joiner's waker was woken */
bit aborted;       /* join_handle_abort was called */
bit joiner_done;   /* the handle is consumed or detached */
byte join_result;  /* 1 JOIN_OK, 2 JOIN_CANCELLED */

inline enqueue() {
	atomic { assert(!freed); queued++; assert(queued <= 1) }
}

inline ld(v) {
	atomic { assert(!freed); v = st }
}

inline fadd(d, old) {
	atomic { assert(!freed); old = st; st = st + d }
}

inline f_or(b, old) {
	atomic { assert(!freed); old = st; st = st | b }
}

/* compare_exchange: on failure exp takes the current value. */
inline cas(exp, des, ok) {
	atomic {
		assert(!freed);
		if
		:: st == exp -> st = des; ok = 1
		:: else -> exp = st; ok = 0
		fi
	}
}

/* (12) task_release: s is the state the last reference saw. */
inline release(s) {
	atomic { assert(!freed); assert(s & COMP); freed = 1 }
}

inline unref_check(old) {
	if
	:: old < 2 * REF -> release(old)
	:: else -> skip
	fi
}

/* (6)/(7)/(8) task_complete_inl; caller: the worker running the task. */
inline complete(canc, s, ns, ok, old) {
	if
	:: !canc -> fadd(COMP + READY - RUN, s)
	:: else ->
		ld(s);
		do
		:: ns = (s & ~(RUN | SCHED)) | COMP | CANC;
		   cas(s, ns, ok);
		   if
		   :: ok -> break
		   :: else -> skip
		   fi
		od
	fi;
#ifdef BAD_UNREF_FIRST
	if
	:: (s & JW) ->
		fadd(-(REF + JW), old);
		atomic { assert(!freed); assert(trailer == 1); trailer = 0; joiner_woken = 1 }
	:: else -> fadd(-REF, old)
	fi;
#else
	if
	:: (s & JW) ->
		/* (8) the slot is ours until JOIN_WAKER is cleared */
		atomic { assert(!freed); assert(st & JW); assert(trailer == 1); trailer = 0; joiner_woken = 1 };
		fadd(-(REF + JW), old)
	:: else -> fadd(-REF, old)
	fi;
#endif
	unref_check(old)
}

proctype worker() {
	int s, ns, old;
	bit ok;
end:	do
	:: atomic { queued > 0 -> queued--; s = 0; ns = 0; old = 0; ok = 0 };
		/* (2) */
		fadd(RUN - SCHED, s);
		assert((s & (SCHED | RUN | COMP)) == SCHED);
		if
		:: (s & CANC) ->
			/* (7) the safe point: drop the future */
			atomic { polling++; assert(polling == 1 && !dropped && !out_ready); dropped = 1 };
			polling--;
			complete(1, s, ns, ok, old)
		:: else ->
			/* the future: Ready once both events happened */
			atomic {
				polling++;
				assert(polling == 1 && !dropped && !out_ready);
				ok = ev1 && ev2
			};
			atomic { out_ready = ok; polling-- };
			if
			:: ok -> complete(0, s, ns, ok, old)
			:: else ->
				/* (4) */
#ifdef BAD_IDLE_STORE
				ld(s);
				atomic { assert(!freed); st = s - RUN };
#else
				fadd(-RUN, s);
#endif
				if
				:: (s & SCHED) -> enqueue()
#ifdef BAD_ABORT_RUNNING
				:: !(s & (SCHED | CANC)) -> skip
				:: (s & CANC) && !(s & SCHED) ->
					/* aborted during the poll: queue it once more */
					f_or(SCHED, s);
					if
					:: !(s & SCHED) -> enqueue()
					:: else -> skip
					fi
#else
				:: else -> skip
#endif
				fi
			fi
		fi
	od
}

/* An event source holding a clone: task_wake_by_val. */
proctype waker_by_val() {
	int s;
	bit ok;
	ev1 = 1;
	ld(s);
	do
	:: cas(s, (s | SCHED) - REF, ok);
	   if
	   :: ok -> break
	   :: else -> skip
	   fi
	od;
	if
	:: !(s & (SCHED | RUN | COMP)) -> enqueue()
	:: else -> unref_check(s)
	fi
}

/* An event source holding a clone: task_wake_by_ref, then waker_drop. */
proctype waker_by_ref() {
	int s, old;
	ev2 = 1;
#ifdef BAD_WAKE_TESTSET
	ld(s);
	if
	:: !(s & (SCHED | RUN | COMP)) -> f_or(SCHED, old); enqueue()
	:: else -> f_or(SCHED, old)
	fi;
#else
	f_or(SCHED, s);
	if
	:: !(s & (SCHED | RUN | COMP)) -> enqueue()
	:: else -> skip
	fi;
#endif
	fadd(-REF, old);
	unref_check(old)
}

/* (11) task_join_release_complete */
inline join_finish(s, old) {
	if
	:: (s & READY) -> assert(out_ready); join_result = 1
	:: else -> assert(aborted && !out_ready); join_result = 2
	fi;
	fadd(-(JI + REF), old);
	assert(old & JI);
	unref_check(old);
	joiner_done = 1
}

/* The join handle's owner. */
proctype joiner() {
	int s, old, ns;
	bit ok, held;
	byte repolls = 1;

	if
	:: skip
	:: /* (9) join_handle_abort */
		aborted = 1;
		ld(s);
		do
		:: (s & (COMP | CANC)) -> break
		:: else ->
#ifdef BAD_ABORT_RUNNING
			ns = s | CANC;
			if
			:: !(s & (RUN | SCHED)) -> ns = ns | SCHED
			:: else -> skip
			fi;
#else
			ns = s | CANC | SCHED;
#endif
			cas(s, ns, ok);
			if
			:: ok ->
				if
				:: !(s & (RUN | SCHED)) -> enqueue()
				:: else -> skip
				fi;
				break
			:: else -> skip
			fi
		od
	fi;

poll:	/* (10) join_handle_poll, fast path */
	ld(s);
	if
	:: (s & COMP) -> join_finish(s, old); goto done
	:: else -> skip
	fi;
	if
	:: !(s & JW) ->
		atomic { assert(!freed && !(st & JW) && trailer == 0); trailer = 1 };
		cas(s, s | JW, ok);
		if
		:: ok -> goto wait
		:: else -> skip
		fi
	:: else -> skip
	fi;
	/* join_handle_poll_slow */
	ld(s);
	if
	:: (s & COMP) ->
		if
		:: !(s & JW) -> atomic { assert(!freed); trailer = 0 }
		:: else -> skip
		fi;
		join_finish(s, old); goto done
	:: else -> skip
	fi;
	if
	:: (s & JW) ->
		do
		:: (s & COMP) -> join_finish(s, old); goto done
		:: else ->
			cas(s, s & ~JW, ok);
			if
			:: ok -> break
			:: else -> skip
			fi
		od;
		s = s & ~JW
		/* the same waker: kept */
	:: else ->
		if
		:: trailer == 0 -> atomic { assert(!freed && !(st & JW)); trailer = 1 }
		:: else -> skip
		fi
	fi;
	do
	:: (s & COMP) -> break
	:: else ->
		cas(s, s | JW, ok);
		if
		:: ok -> goto wait
		:: else -> skip
		fi
	od;
	atomic { assert(!freed && !(st & JW)); trailer = 0 };
	join_finish(s, old);
	goto done;

wait:	/* Pending: wait for the join waker, or be polled again anyway, or
	 * give up interest (11) join_handle_detach. */
	atomic { s = 0; ns = 0; old = 0; ok = 0 };
	if
	:: atomic { joiner_woken -> joiner_woken = 0 }; goto poll
	:: repolls > 0 -> repolls--; goto poll
	:: !aborted ->
		ld(s);
		if
		:: (s & COMP) ->
			fadd(-(JI + REF), old);
			unref_check(old)
		:: else ->
			do
			:: held = ((s & (JW | COMP)) == (JW | COMP));
			   ns = s & ~JI;
			   if
			   :: !held -> ns = ns & ~JW
			   :: else -> skip
			   fi;
			   cas(s, ns, ok);
			   if
			   :: ok -> break
			   :: else -> skip
			   fi
			od;
			if
			:: !held -> atomic { assert(!freed && !(st & JW)); trailer = 0 }
			:: else -> skip
			fi;
			fadd(-REF, old);
			unref_check(old)
		fi;
		joiner_done = 1
	fi;
done:	skip
}

/* At quiescence (nothing can move): nothing lost, nothing leaked. */
proctype monitor() {
	timeout ->
	assert(freed);
	assert(joiner_done);
	assert(queued == 0);
	/* no lost wake: both events fired, so an unaborted task ran to Ready */
	assert(aborted || out_ready);
	assert(out_ready != dropped)
}

init {
	atomic {
		/* (1) spawned with a join handle: references for the executor,
		 * the handle and the two event sources' clones */
		st = SCHED | JI | 4 * REF;
		queued = 1;
		run worker();
		run worker();
		run waker_by_val();
		run waker_by_ref();
		run joiner();
		run monitor()
	}
}
