# bitrix.bxenv test entry points. `make test` runs every suite (what CI runs):
# one nox session a step (noxfile.py, `nox -l`) through tests/ci/run-all.sh;
# the others run one group of tests/ci/run-all.sh (see `make list`).
# Everything is built under .cache/ on first use: pinned venvs from
# tests/requirements-ansible-*.txt, Debian packages through apt-get.

RUN_ALL := tests/ci/run-all.sh

.PHONY: test units sanity integration e2e ecosystem lint docs list clean demo

test:
	$(RUN_ALL)

units sanity integration e2e ecosystem lint docs:
	$(RUN_ALL) $@

list:
	@$(RUN_ALL) --list

clean:
	$(RUN_ALL) --clean
	rm -rf tests/output tests/integration/inventory

# The whole path for real on this machine, as root: see tools/demo/demo.sh.
demo:
	tools/demo/demo.sh
