"""syslog priorities of the core's log lines (a module of its own: the personality
policies, which the front ends load, need them without carp.actions' dataclasses)."""

LOG_CRIT, LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG = 2, 3, 4, 5, 6, 7
