# Everyday commands. `make up` restores the sample dumps in dumps/; `make test` runs every test.
CARGO  ?= cargo
WORLDS := target/release/worlds
IMAGE  ?= $(shell sed -n 's/^image:[[:space:]]*//p' worlds.yaml 2>/dev/null | tr -d '"'"'" | head -n1)
IMAGE  := $(if $(IMAGE),$(IMAGE),worlds/mariadb:10.11)
W      ?= host1
Q      ?= SELECT COUNT(*) AS players, MAX(player_score) AS best FROM player

.PHONY: build test up down status shell query image s3-server bench fmt lint clean

build:
	$(CARGO) build --release --locked

# The offline server image, built from Debian's packages (skipped when it exists).
image:
	@case "$(IMAGE)" in worlds/*) compose/build-image.sh "$(IMAGE)" ;; \
	  *) docker image inspect "$(IMAGE)" >/dev/null 2>&1 || docker pull "$(IMAGE)" ;; esac

# The S3-compatible server that the object-storage tests and bench start on 127.0.0.1
# (s3s-fs from crates.io, built once into target/s3s-fs).
S3S_FS := target/s3s-fs/bin/s3s-fs
s3-server: $(S3S_FS)
$(S3S_FS):
	$(CARGO) install s3s-fs --version =0.14.1 --features binary --locked --root target/s3s-fs

test: build image s3-server
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

bench: build image s3-server
	python3 tests/bench/run.py

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

clean:
	$(CARGO) clean
