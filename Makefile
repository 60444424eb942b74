# tokacct: PGXS build.
#
# The install script tokacct--$(EXTVERSION).sql is built by concatenating the
# pieces in sql/install/ in name order, so each concern keeps its own SQL next
# to its own regression test.  pg_regress suites are every sql/*.sql file.

EXTENSION = tokacct
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" tokacct.control)

MODULE_big = tokacct
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
INSTALL_PIECES = $(sort $(wildcard sql/install/*.sql))

REGRESS = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
PG_CPPFLAGS = -I$(srcdir)/src

EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(DATA_built): $(INSTALL_PIECES) tokacct.control
	cat $(INSTALL_PIECES) > $@

$(OBJS): $(wildcard src/*.h)
