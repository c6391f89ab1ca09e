# hmg: remote health-monitoring gateway. `make demo` and `make test` work on a fresh Debian/Ubuntu.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HMG_RECORDS ?= ../shared/data
export HMG_RECORDS

.PHONY: demo test lint typecheck pytest venv system-deps eval-ecg cv-qrs eval-vitals eval-lows eval-inactivity train-af train-beats train-glucose bench-burden bench bench-ecg bench-ingest bench-latency bench-storage bench-dashboard bench-audit bench-actions clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/hmg demo $(DEMO_ARGS)

# Real servers for the integration suite: Mosquitto, PostgreSQL (already on the machine), InfluxDB 1.x
# and VictoriaMetrics (for the InfluxDB v2 write API), from Debian's packages.
system-deps:
	@bash deploy/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check devices alerts gateway simulator tests bench
	$(BIN)/ruff format --check devices alerts gateway simulator tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: system-deps lint typecheck pytest

# Evaluation-only anchors (NeuroKit2; WFDB's XQRS comes with wfdb) from the `eval` extra.
EVAL_STAMP := $(VENV)/.eval-installed
$(EVAL_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev,eval]'
	touch $(EVAL_STAMP)

eval-ecg: $(EVAL_STAMP)
	nice -n 10 $(BIN)/python -m bench.eval_ecg
	nice -n 10 $(BIN)/python -m bench.eval_ventricular

# The QRS detector's free choices by leave-one-record-out cross-validation on MIT-BIH.
cv-qrs: $(STAMP)
	nice -n 10 $(BIN)/python -m bench.cv_qrs

# Refit the ECG AF window model on the CinC 2017 records and print its constants and figures
# (TRAIN_AF_ARGS=--fit-on odd for the held-out check on the even-numbered records).
train-af: $(STAMP)
	nice -n 10 $(BIN)/python -m bench.train_af $(or $(TRAIN_AF_ARGS),--fit-on all --out alerts/ecg/af_model.json)

# Refit the ventricular-beat model (logistic part + boosted trees) on the development MIT-BIH
# records, print its leave-one-record-out figures and write alerts/ecg/veb_model.json.
train-beats: $(STAMP)
	nice -n 10 $(BIN)/python -m bench.train_beats

# Refit the predicted-low model on the Weinstock 2016 CGM (threshold by patient-grouped CV) and
# write alerts/detectors/glucose_low_model.json (deterministic).
train-glucose: $(STAMP)
	$(BIN)/python -m bench.train_glucose

eval-vitals: $(STAMP)
	$(BIN)/python -m bench.eval_vitals

# The predicted-low approaches tried beside the shipped model, on the same folds and scoring.
eval-lows: $(STAMP)
	nice -n 10 $(BIN)/python -m bench.glucose_low_alternatives

# Alerts per patient-day on the simulator's 30-day cohort (one condition is one alert).
bench-burden: $(STAMP)
	$(BIN)/python -m bench.alarm_burden

# Silent-home wellness checks on the simulator's living-alone cohort (30 days after 7 of learning).
eval-inactivity: $(STAMP)
	$(BIN)/python -m bench.eval_inactivity $(EVAL_INACTIVITY_ARGS)

bench-ecg: $(STAMP)
	$(BIN)/python -m bench.bench_ecg

bench-ingest: $(STAMP) system-deps
	$(BIN)/python -m bench.bench_ingest

# Scale-out: drain a prepared backlog with 1, 2 and 3 detector workers on nats-server.
bench-scale: $(STAMP) system-deps
	$(BIN)/python -m bench.bench_scale $(BENCH_SCALE_ARGS)

# Publish -> alert latency with 1,000 and 2,000 devices at 1 msg/s, onboarding and steady state,
# then 1,000 devices of which 200 stream ECG (real Mosquitto and gateway; see bench/bench_latency.py).
bench-latency: $(STAMP) system-deps
	$(BIN)/python -m bench.bench_latency $(or $(BENCH_LATENCY_ARGS),--devices 1000 2000 --ecg-run 200)

bench-dashboard: $(STAMP) system-deps
	nice -n 10 $(BIN)/python -m bench.bench_dashboard

bench-storage: $(STAMP) system-deps
	$(BIN)/python -m bench.bench_storage

# Audit trail: action rows/s, health-data reads/s with group commit vs one transaction each,
# chain verification rows/s; SQLite and PostgreSQL.
bench-audit: $(STAMP) system-deps
	$(BIN)/python -m bench.bench_audit

# Clinicians' actions: local vs routed to the partition's owner over nats-server (PostgreSQL).
bench-actions: $(STAMP) system-deps
	$(BIN)/python -m bench.bench_actions

bench: bench-ecg bench-ingest bench-latency bench-scale bench-storage

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache hmg-data
