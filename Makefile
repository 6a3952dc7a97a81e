# restorelab: `make demo` runs the main job, `make test` runs every check.
GO ?= go
BIN := bin/restorelab
ORT_LIB := .cache/onnxruntime/1.24.1/libonnxruntime.so.1
DEMO_OUT := out/demo
GONB_JUPYTER := .cache/gonb/jupyter
NB_OUT := out/notebooks-test

.PHONY: build demo test onnxruntime python-deps fmt-check vet bench-go notebook-deps notebook-kernel notebooks notebooks-test

build:
	$(GO) build -buildvcs=auto -o $(BIN) ./cmd/restorelab

# ONNX Runtime's shared library, extracted from the onnxruntime-node npm package.
$(ORT_LIB):
	scripts/fetch-onnxruntime.sh $(dir $(ORT_LIB))

# Also into the user cache, where the binary finds it from any folder.
onnxruntime: $(ORT_LIB)
	@dest="$${RESTORELAB_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/restorelab}/onnxruntime/1.24.1"; \
	if [ ! -f "$$dest/libonnxruntime.so.1" ]; then \
		mkdir -p "$$dest" && cp $(ORT_LIB) "$$dest/libonnxruntime.so.1.tmp" && mv "$$dest/libonnxruntime.so.1.tmp" "$$dest/libonnxruntime.so.1" && \
		echo "ONNX Runtime also installed in the user cache: $$dest"; fi

# Debian's numpy, PyTorch and onnx for /usr/bin/python3: tests check that numpy
# reads our .npz files, and run the checkpoint exporters.
python-deps:
	scripts/install-python-deps.sh

demo: build onnxruntime
	$(BIN) bench --data samples/cat.png --out $(DEMO_OUT) --tasks sr4,deblur,denoise,sr4-noisy --methods baseline,ddrm
	@echo "demo images and metrics: $(DEMO_OUT)/ (results.md, one folder per task)"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: onnxruntime python-deps fmt-check vet notebooks-test
	models/export/test_exports.sh
	$(GO) test ./...

# Speed figures: operators, the analytic prior and a 20-step DDRM restore.
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./restore ./models

# Jupyter and the GoNB kernel, to open the notebooks (as 'restorelab kernel install').
notebook-deps:
	scripts/install-gonb.sh

# The kernel that executes notebooks headless, kept inside the checkout.
notebook-kernel:
	scripts/install-gonb.sh --headless --jupyter-data-dir $(GONB_JUPYTER)

# Re-executes the notebooks in place, refreshing the committed outputs.
notebooks: notebook-kernel
	scripts/run-notebooks.sh --in-place
	scripts/check-notebooks.py notebooks/*.ipynb

# Executes copies of the notebooks and checks that every cell ran and the figures are there.
notebooks-test: notebook-kernel
	rm -rf $(NB_OUT)
	scripts/run-notebooks.sh --out $(NB_OUT)
	scripts/check-notebooks.py $(NB_OUT)/*.ipynb
