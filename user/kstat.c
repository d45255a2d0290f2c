/* kstat: print the kernel's counters (SYS_kstat), one "name value" per line. */
#include <stdio.h>
#include <string.h>

#include "px.h"

/*
 *   kstat          every counter
 *   kstat NAME     one counter's value alone
 *
 * The shell's tests read them: `spawns` tells whether a line started a
 * process, and the two ctrlc times how long a Ctrl-C took from the key
 * to the shell taking the console back, in guest time; the network's
 * tests check that tcp_conns and sock_files come back to where they were
 * after thousands of connections.
 */
static const struct {
	unsigned which;
	const char *name;
} counters[] = {
	{ PX_KSTAT_FP_TRAPS, "fp_traps" },
	{ PX_KSTAT_SPAWNS, "spawns" },
	{ PX_KSTAT_CTRLC, "ctrlc" },
	{ PX_KSTAT_CTRLC_NS, "ctrlc_ns" },
	{ PX_KSTAT_CTRLC_BACK_NS, "ctrlc_back_ns" },
	{ PX_KSTAT_NET_RX_DROPPED, "net_rx_dropped" },
	{ PX_KSTAT_NET_RX_DUPLICATED, "net_rx_duplicated" },
	{ PX_KSTAT_NET_RX_REORDERED, "net_rx_reordered" },
	{ PX_KSTAT_NET_TX_DROPPED, "net_tx_dropped" },
	{ PX_KSTAT_NET_TX_DUPLICATED, "net_tx_duplicated" },
	{ PX_KSTAT_NET_TX_REORDERED, "net_tx_reordered" },
	{ PX_KSTAT_TCP_CONNS, "tcp_conns" },
	{ PX_KSTAT_SOCK_FILES, "sock_files" },
	{ PX_KSTAT_WFI_INSTRET, "wfi_instret" },
	{ PX_KSTAT_TIMER_HZ, "timer_hz" },
	{ PX_KSTAT_TCP_RETRANSMITS, "tcp_retransmits" },
	{ PX_KSTAT_TCP_FAST_RETRANSMITS, "tcp_fast_retransmits" },
	{ PX_KSTAT_PAGES_FREE, "pages_free" },
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

int main(int argc, char **argv)
{
	for (unsigned i = 0; i < NCOUNTERS; i++) {
		if (argc == 1) {
			printf("%-18s %ld\n", counters[i].name, px_kstat(counters[i].which));
		} else if (strcmp(argv[1], counters[i].name) == 0) {
			printf("%ld\n", px_kstat(counters[i].which));
			return 0;
		}
	}
	if (argc > 1) {
		fprintf(stderr, "kstat: no counter %s\n", argv[1]);
		return 1;
	}
	return 0;
}
