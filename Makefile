# Everyday commands. `make up` restores the sample dumps in dumps/; `make test` runs every test.
CARGO  ?= cargo
WORLDS := target/release/worlds
IMAGE  ?= $(shell sed -n 's/^image:[[:space:]]*//p' worlds.yaml 2>/dev/null | tr -d '"'"'" | head -n1)
IMAGE  := $(if $(IMAGE),$(IMAGE),worlds/mariadb:10.11)
W      ?= host1
Q      ?= SELECT COUNT(*) AS players, MAX(player_score) AS best FROM player

.PHONY: build test up down status shell query image bench fmt lint clean

build:
	$(CARGO) build --release --locked

# The offline server image, built from Debian's packages (skipped when it exists).
image:
	@case "$(IMAGE)" in worlds/*) compose/build-image.sh "$(IMAGE)" ;; \
	  *) docker image inspect "$(IMAGE)" >/dev/null 2>&1 || docker pull "$(IMAGE)" ;; esac

test: build image
	$(CARGO) test --release --locked

up: build image
	$(WORLDS) up

down: build
	$(WORLDS) down

status: build
	$(WORLDS) status

shell: build
	$(WORLDS) connect $(W)

query: build
	$(WORLDS) query "$(Q)"

bench: build image
	python3 tests/bench/run.py

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

clean:
	$(CARGO) clean
