# tern: top-level GNU Makefile.  No recursion: every program directory adds
# its programs through <dir>/module.mk, everything else is found by wildcard.

PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
SBINDIR       ?= $(PREFIX)/sbin
LIBEXECDIR    ?= $(PREFIX)/libexec/tern
MANDIR        ?= $(PREFIX)/share/man
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
CONTROLDIR    ?= $(SYSCONFDIR)/tern
SPOOLDIR      ?= $(LOCALSTATEDIR)/spool/tern
DESTDIR       ?=
QUEUEUSER     ?= ternq
SMTPDUSER     ?= ternd
REMOTEUSER    ?= ternr

CC      ?= cc
PKGS    := libbsd-overlay openssl libunbound
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcrypt

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wformat=2 -Wvla -Werror
DEFS    := -D_GNU_SOURCE \
           -DTERN_CONTROLDIR='"$(CONTROLDIR)"' \
           -DTERN_SPOOLDIR='"$(SPOOLDIR)"' \
           -DTERN_LIBEXECDIR='"$(LIBEXECDIR)"' \
           -DTERN_QUEUEUSER='"$(QUEUEUSER)"' \
           -DTERN_SMTPDUSER='"$(SMTPDUSER)"' \
           -DTERN_REMOTEUSER='"$(REMOTEUSER)"'
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 $(WARN) $(DEFS) $(PKG_CFLAGS) -Ilib $(CFLAGS) -MMD -MP
LDLIBS  := -Wl,--as-needed $(PKG_LIBS)

# Build trees: build/release (make, bin/ links to it) and build/asan (check).
B       ?= build/release
ASAN_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined

# Each <dir>/module.mk appends programs as dir/name (main() in dir/name.c)
# to PROGS, and may append name=target pairs to LINKS (symlinks in bin/).
PROGS :=
LINKS :=
include $(sort $(wildcard */module.mk))

MAIN_SRCS  := $(addsuffix .c,$(PROGS))
PROG_DIRS  := $(patsubst %/,%,$(sort $(dir $(PROGS))))
LIB_SRCS   := $(sort $(wildcard lib/*.c))
LOGIC_SRCS := $(filter-out $(MAIN_SRCS),$(sort $(wildcard $(addsuffix /*.c,$(PROG_DIRS)))))
UNIT_SRCS  := $(filter-out tests/unit/tap.c,$(sort $(wildcard tests/unit/test-*.c)))

LIBTERN    := $(B)/lib/libtern.a
LOGIC_ARS  := $(foreach d,$(PROG_DIRS),$(B)/$(d)/lib$(d).a)
PROG_BINS  := $(foreach p,$(PROGS),$(B)/bin/$(notdir $(p)))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
ALL_OBJS   := $(patsubst %.c,$(B)/%.o,$(LIB_SRCS) $(LOGIC_SRCS) $(MAIN_SRCS) \
                $(UNIT_SRCS) tests/unit/tap.c)

.PHONY: pkgcheck all build check lint fuzz bench run install uninstall clean deps
all:
	@$(MAKE) --no-print-directory build B=build/release
	@mkdir -p bin
	@for p in $(notdir $(PROGS)); do ln -sfn ../build/release/bin/$$p bin/$$p; done
	@for l in $(LINKS); do ln -sfn $${l#*=} bin/$${l%%=*}; done

build: pkgcheck $(PROG_BINS)
	@for l in $(LINKS); do ln -sfn $${l#*=} $(B)/bin/$${l%%=*}; done

pkgcheck:
	@pkg-config --exists $(PKGS) || { pkg-config --print-errors \
		--exists $(PKGS); echo "make: missing libraries: run make deps"; \
		exit 1; }

$(B)/%.o: %.c | pkgcheck
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBTERN): $(LIB_SRCS:%.c=$(B)/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

# lib<dir>.a holds a program directory's logic, so unit tests link it.
define dir_rules
$(B)/$(1)/lib$(1).a: $(patsubst %.c,$(B)/%.o,$(filter $(1)/%,$(LOGIC_SRCS)))
	@mkdir -p $$(@D)
	@rm -f $$@
	$(AR) rcs $$@ $$^
endef
$(foreach d,$(PROG_DIRS),$(eval $(call dir_rules,$(d))))

# Programs started for every connection, message or delivery: libbsd and
# libmd linked in (two shared objects fewer to map and relocate at every
# start, about 0.3 ms of 2.4 on the 2-core VM), nothing else but libc,
# and full RELRO (tern-queue is setuid; measured cost: none).  Fully
# static (-static-pie) saves 0.6 ms more, but glibc's NSS then dlopens
# libnss_systemd for a user not in /etc/passwd, and that crashes.
SMALL_PROGS  := tern-queue tern-smtpd tern-listen tern-local
SMALL_LDLIBS := -Wl,--as-needed -Wl,-Bstatic -lbsd -lmd -Wl,-Bdynamic \
                -Wl,-z,relro,-z,now

define prog_rule
$(B)/bin/$(notdir $(1)): $(B)/$(1).o $(B)/$(patsubst %/,%,$(dir $(1)))/lib$(patsubst %/,%,$(dir $(1))).a $(LIBTERN)
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $$@ $$^ $(if $(filter $(notdir $(1)),$(SMALL_PROGS)),$(SMALL_LDLIBS),$(LDLIBS))
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(B)/tests/%: $(B)/tests/unit/%.o $(B)/tests/unit/tap.o $(LOGIC_ARS) $(LIBTERN)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Installs missing Debian packages when root, else prints the apt-get line.
deps:
	@sh tools/deps.sh

# make check: a separate ASan+UBSan tree, then every unit and integration
# test under prove.  Integration tests find the programs through TERN_BIN.
check: deps
	@$(MAKE) --no-print-directory build $(UNIT_BINS:build/release/%=build/asan/%) B=build/asan \
		CFLAGS="$(ASAN_CFLAGS)" LDFLAGS="-fsanitize=address,undefined"
	TERN_BIN=$(CURDIR)/build/asan/bin TERN_SRC=$(CURDIR) \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:handle_abort=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	prove -j2 --exec '' $(PROVE_FLAGS) \
		$(UNIT_SRCS:tests/unit/%.c=build/asan/tests/%) \
		$(sort $(wildcard tests/integration/*.t))

BANNED := strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|alloca
lint:
	@! grep -nEw '($(BANNED))[[:space:]]*\(' $(LIB_SRCS) $(sort $(wildcard */*.c */*.h)) \
		| grep -v '^tests/unit/tap' || { echo "lint: banned call above"; exit 1; }
	@# Pages that are only a .so link to another page are not linted.
	mandoc -Tlint -Wwarning $(shell grep -L '^\.so ' $(sort $(wildcard man/*.[1-8])))

fuzz:
	@sh fuzz/run.sh

bench: all
	@bench/local

run: deps all
	@sh tools/devrun.sh

install: all
	@sh tools/install.sh "$(DESTDIR)" "$(BINDIR)" "$(SBINDIR)" \
		"$(LIBEXECDIR)" "$(MANDIR)" "$(CONTROLDIR)" "$(SPOOLDIR)"

uninstall:
	@sh tools/install.sh -u "$(DESTDIR)" "$(BINDIR)" "$(SBINDIR)" \
		"$(LIBEXECDIR)" "$(MANDIR)" "$(CONTROLDIR)" "$(SPOOLDIR)"

clean:
	rm -rf build bin

-include $(ALL_OBJS:.o=.d)
