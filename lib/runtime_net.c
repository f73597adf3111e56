/*
 * Listeners: every listening TCP socket and bound, unconnected UDP socket
 * of the scope's network namespace (/proc/PID/net/{tcp,tcp6,udp,udp6}
 * show the namespace of PID, where /proc/net shows the reader's), each
 * with its owner, found by its inode among the socket fds of the
 * processes the process pass inspected.  What the runtime section does
 * not declare is a finding; so is a declared listener nobody holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_private.h"

#define NET_FILE_MAX (64u << 20)
#define TCP_LISTEN 0x0A
#define TCP_CLOSE 0x07

static int parse_addr(const char *s, bool v6, unsigned char out[16], uint16_t *port)
{
	unsigned words = v6 ? 4 : 1, i, p;
	char hex[9];

	memset(out, 0, 16);
	for (i = 0; i < words; i++) {
		uint32_t w;
		char *e;

		memcpy(hex, s + 8 * i, 8);
		hex[8] = '\0';
		if (strlen(hex) != 8)
			return -1;
		w = (uint32_t)strtoul(hex, &e, 16);
		if (*e)
			return -1;
		/* The kernel prints each 32-bit word in host order. */
		memcpy(out + 4 * i, &w, 4);
	}
	s += 8 * words;
	if (*s != ':' || sscanf(s + 1, "%4x", &p) != 1)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

int hm_proc_parse_socket(const char *line, const char *proto, bool v6,
			 struct hm_proc_socket *ret)
{
	char local[64], remote[64];
	unsigned state;
	unsigned long long inode;
	unsigned char raddr[16];
	uint16_t rport;
	struct hm_proc_socket s = { .v6 = v6 };

	if (sscanf(line, " %*[0-9]: %63s %63s %x %*s %*s %*s %*s %*s %llu",
		   local, remote, &state, &inode) != 4)
		return -1;
	if (strlen(local) != (v6 ? 37u : 13u) || strlen(remote) != strlen(local) ||
	    parse_addr(local, v6, s.addr, &s.port) < 0 ||
	    parse_addr(remote, v6, raddr, &rport) < 0)
		return -1;
	snprintf(s.proto, sizeof(s.proto), "%s", proto);
	s.inode = inode;
	if (strcmp(proto, "tcp") == 0 ? state != TCP_LISTEN :
	    state != TCP_CLOSE || rport != 0 || s.port == 0)
		return 0;
	*ret = s;
	return 1;
}

void hm_proc_socket_name(const struct hm_proc_socket *s, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(s->v6 ? AF_INET6 : AF_INET, s->addr, a, sizeof(a));
	snprintf(out, n, s->v6 ? "%s/[%s]:%u" : "%s/%s:%u", s->proto, a, s->port);
}

static const struct rt_proc *owner_of(const struct rt_ctx *c, uint64_t inode)
{
	size_t i;

	for (i = 0; i < c->n_procs; i++) {
		const struct rt_proc *p = &c->procs[i];
		size_t lo = 0, hi = p->n_sockets;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (p->sockets[mid] == inode)
				return p;
			if (p->sockets[mid] < inode)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return NULL;
}

/* Does declared listener l cover socket s owned by o (NULL: unknown)? */
static bool covers(const struct hm_runtime_listen *l, const struct hm_proc_socket *s,
		   const struct rt_proc *o)
{
	unsigned char a[16] = { 0 };

	if (strcmp(l->proto, s->proto) != 0 || l->port != s->port)
		return false;
	if (l->addr) {
		bool v6 = strchr(l->addr, ':') != NULL;

		if (v6 != s->v6 || inet_pton(v6 ? AF_INET6 : AF_INET, l->addr, a) != 1 ||
		    memcmp(a, s->addr, v6 ? 16 : 4) != 0)
			return false;
	}
	return !l->exe || (o && o->exe && strcmp(l->exe, o->exe) == 0);
}

int rt_check_listeners(struct rt_ctx *c, struct hm_error *err)
{
	static const struct { const char *file, *proto; bool v6; } files[] = {
		{ "tcp", "tcp", false }, { "tcp6", "tcp", true },
		{ "udp", "udp", false }, { "udp6", "udp", true },
	};
	const struct hm_runtime_spec *spec = c->spec;
	bool *held = calloc(spec->n_listen + 1, sizeof(bool));
	size_t f, i;
	int r = 0;

	if (!held)
		return hm_error_nomem(err);
	for (f = 0; f < 4 && r >= 0; f++) {
		char name[64], *data, *line, *save = NULL;

		snprintf(name, sizeof(name), "%s/net/%s", c->scope, files[f].file);
		r = rt_read_at(c->proc_fd, name, NET_FILE_MAX, &data, NULL);
		if (r == -ENOENT) {
			r = 0;          /* no IPv6 in this kernel */
			continue;
		}
		if (r < 0) {
			char where[80];

			snprintf(where, sizeof(where), "%s/%s", c->proc, name);
			r = rt_finding(c, HM_FINDING_NOT_INSPECTED, where, NULL, NULL,
				       "listening sockets not inspected: cannot read it", err);
			continue;
		}
		line = strtok_r(data, "\n", &save);      /* the header */
		while (r >= 0 && (line = strtok_r(NULL, "\n", &save))) {
			struct hm_proc_socket s;
			const struct rt_proc *o;
			char sname[96], detail[80];
			bool declared = false;

			if (hm_proc_parse_socket(line, files[f].proto, files[f].v6, &s) != 1)
				continue;
			c->rstats->listeners++;
			o = owner_of(c, s.inode);
			for (i = 0; i < spec->n_listen; i++)
				if (covers(&spec->listen[i], &s, o))
					declared = held[i] = true;
			if (declared)
				continue;
			hm_proc_socket_name(&s, sname, sizeof(sname));
			snprintf(detail, sizeof(detail), "socket inode %" PRIu64 ": no "
				 "process of the scope holds it", s.inode);
			r = rt_finding(c, HM_FINDING_LISTENER_UNDECLARED, sname, NULL,
				       "listening", o ? o->desc : detail, err);
		}
		free(data);
	}
	for (i = 0; i < spec->n_listen && r >= 0; i++) {
		const struct hm_runtime_listen *l = &spec->listen[i];
		char sname[160], detail[4200];
		bool v6 = l->addr && strchr(l->addr, ':');

		if (held[i])
			continue;
		snprintf(sname, sizeof(sname), v6 ? "%s/[%s]:%u" : "%s/%s:%u", l->proto,
			 l->addr ? l->addr : "*", l->port);
		snprintf(detail, sizeof(detail), "declared for %s",
			 l->exe ? l->exe : "any process");
		r = rt_finding(c, HM_FINDING_LISTENER_ABSENT, sname, "listening",
			       "not listening", detail, err);
	}
	free(held);
	return r < 0 ? r : 0;
}
