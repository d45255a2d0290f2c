/* SPIN model of the mpsc channel's state word (executor/mpsc.h, I1-I4). */

/*
 * What is modelled.  A channel of capacity 1 (the ping-pong case, where
 * every send after the first finds it full), one receiver task looping
 * on recv until SYNC_CLOSED, and two sender tasks that each send one
 * value and then drop their sender handle; the second may instead give
 * up while it waits (its send future is dropped).  A task that returns
 * Pending runs again only when its waker was woken.  The state word
 * (len << 8 | RXW SENDQ CLOSED NOTX) changes only by atomic steps, as in
 * the C; `lock` is the channel's spin lock.  Sequential consistency:
 * orderings are checked by the C's TSAN host tests, and here by putting
 * each copy before or after the RMW that publishes it.
 *
 * Where each step comes from (mpsc.h inline, mpsc.c):
 *   receiver fast path     mpsc_recv_poll_sized: take (mpsc_take_fast:
 *                          copy out, CAS len - 1) or register (clone into
 *                          rx_waker, CAS |RXW; raced: mpsc_recv_raced)
 *   receiver slow path     mpsc_recv_slow, under the lock, grant_one
 *   sender fast path       mpsc_send_poll_sized: mpsc_put (copy in at wr,
 *                          then len + 1 and RXW off: mpsc_st_update)
 *   sender slow path       mpsc_send_slow: fetch_or SENDQ, reserved slot,
 *                          free slot, or queue (waiter) and wait
 *   cancelled send         mpsc_send_drop: leave, pass a reservation on
 *   last sender handle     mpsc_sender_drop: NOTX, take RXW's waker
 *
 * Checked: I1 (a lock holder that takes RXW's waker finds a live one;
 * the receiver writes rx_waker only while RXW is clear), I2 (the
 * lock-free take runs only with SENDQ clear), I3 (a value is read only
 * from a filled slot, a slot is filled only when empty), I4 (a sender
 * queues only when len + reserved == cap), each value delivered exactly
 * once and only if its send said SYNC_OK, and at quiescence no lost wake
 * (every task finished: the receiver got SYNC_CLOSED after every value)
 * and no leaked waker clone.
 *
 * Known-bad variants (scripts/model.sh expects SPIN to reject each):
 *   BAD_PUT_ORDER       mpsc_put publishes len + 1 before copying the
 *                       value in (I3): the receiver reads an empty slot.
 *   BAD_TAKE_NO_SENDQ   the lock-free take ignores SENDQ (I2): a slot is
 *                       freed without a grant, the waiting sender is
 *                       never woken.
 */

#define RXW    1
#define SENDQ  2
#define CLOSED 4
#define NOTX   8
#define LEN1   256
#define CAP    1
#define CAP_ST (CAP * LEN1)

int st;              /* the state word */
bit lock;
byte buf;            /* the one slot's value (0: none) */
bit filled;            /* ghost: the slot holds a value */
bit rxw_slot;        /* rx_waker holds a clone (live while RXW is set: I1) */
byte rx_clones;      /* live clones of the receiver's waker */
bit rx_woken;
byte reserved;
byte senders = 2;
byte q[2];           /* waiting senders, FIFO (ids 1, 2) */
byte qn;
bit queued[3], granted[3], node_waker[3], s_woken[3];
byte s_clones;       /* live clones of senders' wakers */
byte delivered;      /* bit i: sender i's send returned SYNC_OK */
byte received;       /* bit i: the receiver got sender i's value */
bit rx_closed;       /* the receiver saw SYNC_CLOSED */
byte done_senders;

inline lock_acquire() { atomic { lock == 0 -> lock = 1 } }
inline lock_release() { assert(lock == 1); lock = 0 }

inline ld(v) { v = st }

inline cas(exp, des, ok) {
	atomic {
		if
		:: st == exp -> st = des; ok = 1
		:: else -> exp = st; ok = 0
		fi
	}
}

/* mpsc_st_update: caller holds the lock.  If it clears a set RXW, the
 * receiver's waker moves to `took`. */
inline update(s, add, set, clear, took, ok) {
	do
	:: atomic {
		if
		:: st == s ->
			took = 0;
			if
			:: (s & clear & RXW) ->
				assert(lock == 1 && rxw_slot);   /* I1 */
				rxw_slot = 0; took = 1
			:: else -> skip
			fi;
			st = ((s + add) | set) & ~clear; s = st; ok = 1
		:: else -> s = st; ok = 0
		fi
	   };
	   if
	   :: ok -> break
	   :: else -> skip
	   fi
	od
}

inline rx_wake(w) {
	if
	:: w -> atomic { rx_clones--; rx_woken = 1 }; w = 0
	:: else -> skip
	fi
}

inline rx_drop(w) {
	if
	:: w -> rx_clones--; w = 0
	:: else -> skip
	fi
}

inline s_wake(id) {
	if
	:: id -> atomic { s_clones--; s_woken[id] = 1 }; id = 0
	:: else -> skip
	fi
}

inline s_drop(id) {
	if
	:: id -> s_clones--; id = 0
	:: else -> skip
	fi
}

/* grant_one: lock held, len frozen.  Reserves the slot for the first
 * waiting sender; its waker goes to `w` (an id), to wake after unlock. */
inline grant_one(s, w) {
	w = 0;
	if
	:: (s / LEN1) + reserved < CAP && qn > 0 ->
		w = q[0]; q[0] = q[1]; q[1] = 0; qn--;
		queued[w] = 0; granted[w] = 1; reserved++;
		node_waker[w] = 0
	:: else -> skip
	fi
}

/* The received value v: exactly once, and only a delivered one. */
inline got(v) {
	atomic {
		assert(v == 1 || v == 2);
		assert(!(received & (1 << v)));
		received = received | (1 << v)
	}
}

proctype receiver() {
	int s;
	bit ok, old;
	byte v, next;

poll:
	ld(s);
	if
	:: s >= LEN1 ->
#ifdef BAD_TAKE_NO_SENDQ
		if
		:: !(s & RXW) ->
#else
		if
		:: !(s & (RXW | SENDQ)) ->
#endif
			/* mpsc_take_fast: copy out, then len - 1 */
			atomic { assert(filled); v = buf };
			atomic {
				if
				:: st == s ->
					assert(!(s & SENDQ));	/* I2 */
					st = s - LEN1; filled = 0; buf = 0; ok = 1
				:: else -> s = st; ok = 0
				fi
			};
			if
			:: ok -> got(v); v = 0; goto poll
			:: else -> v = 0
			fi
		:: else -> skip
		fi
	:: else ->
		if
		:: !(s & (RXW | CLOSED | NOTX)) ->
			atomic { assert(!(st & RXW)); rxw_slot = 1; rx_clones++ };
			cas(s, s | RXW, ok);
			if
			:: ok -> goto pending
			:: else -> atomic { assert(!(st & RXW)); rxw_slot = 0; rx_clones-- }
			fi
		:: else -> skip
		fi
	fi;

	/* mpsc_recv_slow */
	ld(s);
	if
	:: s < LEN1 && (s & RXW) -> goto pending	/* same waker registered */
	:: s < LEN1 && !(s & (RXW | CLOSED | NOTX)) ->
		atomic { assert(!(st & RXW)); rxw_slot = 1; rx_clones++ };
		cas(s, s | RXW, ok);
		if
		:: ok -> goto pending
		:: else -> atomic { assert(!(st & RXW)); rxw_slot = 0; rx_clones-- }
		fi
	:: else -> skip
	fi;
	lock_acquire();
	ld(s);
	if
	:: s >= LEN1 ->
		atomic { assert(filled); v = buf };
		update(s, -LEN1, 0, RXW, old, ok);
		atomic { filled = 0; buf = 0 };
		grant_one(s, next);
		lock_release();
		s_wake(next);
		rx_drop(old);
		got(v); v = 0;
		goto poll
	:: s < LEN1 && (s & (CLOSED | NOTX)) && reserved == 0 ->
		update(s, 0, 0, RXW, old, ok);
		lock_release();
		rx_drop(old);
		rx_closed = 1;
		goto finished
	:: s < LEN1 && !((s & (CLOSED | NOTX)) && reserved == 0) && (s & RXW) ->
		lock_release();
		goto pending
	:: s < LEN1 && !((s & (CLOSED | NOTX)) && reserved == 0) && !(s & RXW) ->
		/* install a clone, then RXW (lock held) */
		atomic { assert(!(st & RXW)); rxw_slot = 1; rx_clones++ };
		update(s, 0, RXW, 0, old, ok);
		lock_release();
		goto pending
	fi;

pending:
	atomic { rx_woken -> rx_woken = 0; s = 0; ok = 0; old = 0 };
	goto poll;
finished:
	skip
}

/* mpsc_put: lock held, room for one.  Copy in, then publish. */
inline put(s, me, clear, rx, ok) {
#ifdef BAD_PUT_ORDER
	update(s, LEN1, 0, RXW | clear, rx, ok);
	atomic { assert(!filled); buf = me; filled = 1 };
#else
	atomic { assert(!filled); buf = me; filled = 1 };
	update(s, LEN1, 0, RXW | clear, rx, ok);
#endif
}

/* send_leave */
inline leave(me, mine) {
	if
	:: queued[me] ->
		if
		:: q[0] == me -> q[0] = q[1]
		:: else -> skip
		fi;
		q[1] = 0; qn--; queued[me] = 0;
		mine = node_waker[me]; node_waker[me] = 0
	:: else -> skip
	fi;
	if
	:: granted[me] -> granted[me] = 0; reserved--
	:: else -> skip
	fi
}

proctype sender(byte me; bit may_cancel) {
	int s;
	bit ok, rx, mine, deliver, wg, none;
	byte next;

poll:	/* mpsc_send_poll_sized */
	lock_acquire();
	ld(s);
	if
	:: !(s & (CLOSED | SENDQ)) && s < CAP_ST ->
		assert(!queued[me] && !granted[me]);
		put(s, me, 0, rx, ok);
		lock_release();
		delivered = delivered | (1 << me);
		rx_wake(rx);
		goto sent
	:: else -> skip
	fi;
	/* mpsc_send_slow */
	atomic { s = st | SENDQ; st = s };
	if
	:: granted[me] ->
		granted[me] = 0; reserved--; deliver = 1
	:: !granted[me] && (s & CLOSED) ->
		leave(me, mine); deliver = 0
	:: !granted[me] && !(s & CLOSED) && !queued[me] && qn == 0 &&
	   (s / LEN1) + reserved < CAP ->
		deliver = 1
	:: else ->
		/* wait: our waker in the node, queue if not queued */
		if
		:: !queued[me] ->
			node_waker[me] = 1; s_clones++;
			q[qn] = me; qn++; queued[me] = 1
		:: else -> skip
		fi;
		assert((s / LEN1) + reserved >= CAP);	/* I4 */
		lock_release();
		goto pending
	fi;
	/* clear SENDQ unless someone still needs it (I2) */
	if
	:: qn == 0 && reserved == 0 -> wg = 1
	:: else -> wg = 0
	fi;
	if
	:: deliver && wg -> put(s, me, SENDQ, rx, ok)
	:: deliver && !wg -> put(s, me, 0, rx, ok)
	:: !deliver && wg -> update(s, 0, 0, SENDQ, none, ok)
	:: !deliver && !wg -> skip
	fi;
	lock_release();
	if
	:: deliver -> delivered = delivered | (1 << me)
	:: else -> skip
	fi;
	rx_wake(rx);
	if
	:: mine -> s_clones--; mine = 0
	:: else -> skip
	fi;
	goto sent;

pending:
	if
	:: atomic { s_woken[me] -> s_woken[me] = 0; s = 0; ok = 0 }; goto poll
	:: may_cancel ->
		/* mpsc_send_drop */
		lock_acquire();
		if
		:: queued[me] || granted[me] ->
			wg = granted[me];
			leave(me, mine);
			ld(s);
			next = 0;
			if
			:: wg -> grant_one(s, next)
			:: else -> skip
			fi;
			if
			:: qn == 0 && reserved == 0 -> update(s, 0, 0, SENDQ, rx, ok)
			:: else -> skip
			fi
		:: else -> skip
		fi;
		lock_release();
		s_wake(next);
		rx_wake(rx);
		if
		:: mine -> s_clones--; mine = 0
		:: else -> skip
		fi;
		/* a wake that was already on its way goes nowhere */
		s_woken[me] = 0;
		goto sent
	fi;

sent:	/* mpsc_sender_drop */
	lock_acquire();
	senders--;
	rx = 0;
	if
	:: senders == 0 -> ld(s); update(s, 0, NOTX, RXW, rx, ok)
	:: else -> skip
	fi;
	lock_release();
	rx_wake(rx);
	done_senders++
}

proctype monitor() {
	timeout ->
	assert(rx_closed);		/* no lost wake: the receiver finished */
	assert(done_senders == 2);	/* and every sender */
	assert(received == delivered);	/* each delivered value, once */
	assert(delivered & 2);		/* sender 1 never gives up */
	assert(rx_clones == 0 && s_clones == 0);	/* no leaked waker */
	assert(lock == 0 && reserved == 0 && qn == 0 && !filled)
}

init {
	atomic {
		run receiver();
		run sender(1, 0);
		run sender(2, 1);
		run monitor()
	}
}
