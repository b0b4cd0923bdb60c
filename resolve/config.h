/* config: tern-resolve's control files. */
#ifndef TERN_RSV_CONFIG_H
#define TERN_RSV_CONFIG_H

#include "engine.h"

/*
 * Fill *cfg from the control files in dir: dnsresolvers (one "ip" or
 * "ip@port" per line; absent: /etc/resolv.conf), dnsrecurse ("1" or
 * "yes": recurse from the root hints, only without dnsresolvers),
 * dnstrustanchor (files, one per line, or "none"; absent: the root key
 * of dns-root-data when it is readable), dnstimeout (seconds, 1-600).
 * A line that does not parse is an error: -1 with *errstr naming the
 * file (the caller logs it and exits 111), so a typo never sends
 * queries somewhere unintended.  0 on success.
 */
int	rsv_config_load(const char *dir, struct rsv_cfg *cfg,
	    const char **errstr);

/*
 * Check one forwarder "ip" or "ip@port" and write libunbound's form
 * into out: 0, or -1.
 */
int	rsv_fwd_parse(const char *s, char *out, size_t outsz);

#endif
