/* alias: the aliases table (sendmail syntax) and forward-file lines. */
#ifndef TERN_ALIAS_H
#define TERN_ALIAS_H

#include <stdbool.h>
#include <stddef.h>

#define ALIAS_LINE_MAX		4096	/* one physical line */
#define ALIAS_ENTRY_MAX		65536	/* one entry with its continuations */
#define ALIAS_TARGETS_MAX	1000	/* targets of one entry */
#define ALIAS_TARGET_MAX	1024	/* one target, quotes removed */
#define ALIAS_NAME_MAX		256	/* RFC 5321 4.5.3.1.3 (a path) */
#define ALIAS_ENTRIES_MAX	1000000	/* entries in one table */

#define FWD_FILE_MAX		65536	/* a forward file larger is refused */
#define FWD_TARGETS_MAX		ALIAS_TARGETS_MAX

/* What one target (an alias target or a forward-file line) is. */
enum fwd_kind {
	FWD_SKIP,	/* blank or "# comment": nothing to do */
	FWD_PIPE,	/* "|command": text is the command after '|' */
	FWD_MAILDIR,	/* a path ending in '/': text is absolute */
	FWD_ADDR	/* an address: text is canonical local@domain */
};

struct fwd_target {
	enum fwd_kind	kind;
	char		text[ALIAS_TARGET_MAX + 1];
};

struct alias {
	/* lowercased: "local" or "local@domain" */
	char		 *name;
	char		**targets;	/* as written, quotes removed */
	size_t		  ntargets;
	size_t		  lineno;	/* line of the entry's first line */
};

/* Entries sorted by name; each name appears once. */
struct aliastab {
	struct alias	*ents;
	size_t		 n;
};

/*
 * Parse the text of an aliases file (data[0..len), may lack a final
 * newline) into *out, which the caller frees with alias_free.
 * Syntax: "name: target, target, ..."; a line starting with a blank
 * continues the previous entry; lines starting with '#' and blank lines
 * are ignored; a trailing CR is dropped.  A target in double quotes
 * (backslash escapes '"' and '\\') may hold commas and blanks; a quoted
 * local part followed by '@' stays part of an address.  Every target
 * must be valid for fwd_parse_target with no home directory: "|cmd",
 * an absolute path ending in '/', or an address (a bare local part is
 * allowed and qualified later).
 * Returns 0, or -1 with *errstr set to a short reason and *lineno_out
 * to the offending line (errno EINVAL; E2BIG for a limit above; ENOMEM).
 * Duplicate names, ":include:", NUL bytes, control characters, empty
 * targets and entries without targets are errors.  On error *out is
 * left empty.
 */
int	alias_parse(const char *data, size_t len, struct aliastab *out,
	    size_t *lineno_out, const char **errstr);

/*
 * The entry for name (compared ASCII case-insensitively), or NULL.
 */
const struct alias *alias_lookup(const struct aliastab *, const char *name);

/* Free the table and leave it empty (safe on an empty table). */
void	alias_free(struct aliastab *);

/*
 * Classify one target (a forward-file line without its newline, or an
 * alias target).  Blanks around it are ignored.  A target fully in
 * double quotes (sendmail's "|cmd args") is unquoted first.
 *   "" or "#..."        FWD_SKIP
 *   "|command"          FWD_PIPE, text = command (must not be empty)
 *   "path/"             FWD_MAILDIR; a relative path is joined to home,
 *                       which must then be given (absolute)
 *   anything else       FWD_ADDR, parsed by addr_parse_mailbox with
 *                       default_domain for a bare local part (NULL:
 *                       a bare local part is an error)
 * A path not ending in '/', a command or path with control characters,
 * or an address that does not parse is an error: -1 with *errstr,
 * errno EINVAL (ENAMETOOLONG when the result exceeds ALIAS_TARGET_MAX).
 * Returns 0 with *out filled.
 */
int	fwd_parse_target(const char *s, size_t len, const char *home,
	    const char *default_domain, struct fwd_target *out,
	    const char **errstr);

#endif
