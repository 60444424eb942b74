# tokacct: PGXS build.
#
# The install script of the current version, tokacct--$(EXTVERSION).sql, is
# built by concatenating the pieces in sql/install/ in name order, so each
# concern keeps its own SQL next to its own regression test.  The version is
# set in tokacct.control alone.  pg_regress suites are every other sql/*.sql
# file: `make installcheck` runs them against an installed server.

EXTENSION = tokacct
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" tokacct.control)

MODULE_big = tokacct
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# Earlier releases' install scripts (frozen, never edited) and the upgrade
# scripts between releases: every change to the extension's SQL after a
# release ships as sql/tokacct--OLD--NEW.sql.
DATA = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))
INSTALL_PIECES = $(sort $(wildcard sql/install/*.sql))

REGRESS = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION) --encoding=UTF8
ifdef REGRESS_OUTDIR
REGRESS_OPTS += --outputdir=$(REGRESS_OUTDIR)
endif

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
PG_CPPFLAGS = -I$(srcdir)/src -DTOKACCT_VERSION='"$(EXTVERSION)"'

EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The suites that load real catalogs read them from data/ (the server reads
# the files, so it must be able to see this tree).
installcheck: export SHARED_DATA ?= $(abspath $(srcdir)/data)

$(DATA_built): $(INSTALL_PIECES) tokacct.control
	cat $(INSTALL_PIECES) > $@

$(OBJS): $(wildcard src/*.h) tokacct.control
