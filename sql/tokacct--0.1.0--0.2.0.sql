-- tokacct 0.1.0 -> 0.2.0 (ALTER EXTENSION tokacct UPDATE).
-- Every reference is schema-qualified, as in the install script.

\echo Use "ALTER EXTENSION tokacct UPDATE TO '0.2.0'" to load this file. \quit
