// Package models runs neural diffusion priors with ONNX Runtime and manages
// the model files: finding the runtime library, opening models by name or
// path, checking them against their manifests, listing and inspecting them.
//
// # ONNX Runtime
//
// The runtime is a shared library loaded at run time (through
// github.com/yalue/onnxruntime_go), not linked: building needs cgo but no
// ONNX Runtime. 'make onnxruntime' fetches ONNX Runtime 1.24.1 for
// linux/x86_64 into .cache/onnxruntime/1.24.1/ of the source tree. InitRuntime
// describes where the library is looked for; $RESTORELAB_ORT_LIB names it
// outright. Open and Inspect load it on first use.
//
// Models run on the CPU with one thread per CPU by default (Options.Threads).
// Options.CUDA selects ONNX Runtime's CUDA execution provider, which needs a
// CUDA build of the library; the library 'make onnxruntime' fetches has none,
// and asking for CUDA with it is an error that says so.
//
// # Finding models
//
// Open takes the name of a bundled model (built into the binary, so that it
// works from any directory), the name of a model in the user models folder
// ($RESTORELAB_MODELS, else restorelab/models under the user configuration
// directory), a path to a model folder, or a path to a bare .onnx file. List
// returns the bundled and user models; Inspect checks any model against its
// role's contract and says precisely what does not match.
//
// # Model folders and model.json
//
// A model folder holds the .onnx file and a manifest, model.json:
//
//	{
//	  "name": "ffhq64",
//	  "role": "ddrm-prior",
//	  "description": "64x64 faces",
//	  "files": [{"path": "ffhq64.onnx", "sha256": "<64 hex digits>"}],
//	  "inputs": [
//	    {"name": "x", "dtype": "float32", "shape": ["B", 3, "H", "W"]},
//	    {"name": "t", "dtype": "int64", "shape": ["B"]}
//	  ],
//	  "outputs": [{"name": "eps", "dtype": "float32", "shape": ["B", 3, "H", "W"]}],
//	  "schedule": {"type": "linear", "beta_start": 0.0001, "beta_end": 0.02, "T": 1000},
//	  "size_multiple": 8,
//	  "value_range": [-1, 1],
//	  "learned_variance": false,
//	  "provenance": {"data": "...", "steps": 20000, "wall_time_minutes": 95,
//	    "final_loss": 0.031, "licence": "...", "hardware": "...",
//	    "source_url": "...", "checkpoint": "..."}
//	}
//
// Shapes give fixed sizes as numbers and dynamic ones as -1 or a name. The
// roles are ddrm-prior, ldm-unet, ldm-encoder, ldm-decoder, ldm-sr and
// inception; see the Role constants for the contract of each. An ldm-unet
// that reads a conditioning image after z_t declares it with
// "cond_channels" (3 for SRLDM). The time input takes the
// raw step 0..T-1 (as int64, or as float32 holding an integer). dtype is
// float32, float16 or int64; float16 is converted in Go, rounding to nearest
// even. Unknown keys are rejected, except in provenance, which keeps them.
// Opening a model checks every listed file's SHA-256, then that the ONNX file
// has the inputs and outputs model.json declares.
//
// # Latent-diffusion super-resolution bundles
//
// An SRLDM is three networks, kept as one folder of role ldm-sr whose
// model.json lists no files of its own but names a folder inside it for
// each part, every one a model folder as above:
//
//	{
//	  "name": "srldm",
//	  "role": "ldm-sr",
//	  "description": "4x super-resolution, VQ-f4",
//	  "parts": {"unet": "unet", "encoder": "encoder", "decoder": "decoder"},
//	  "factor": 4,
//	  "size_multiple": 32,
//	  "value_range": [-1, 1],
//	  "provenance": {...}
//	}
//
// unet is an ldm-unet with cond_channels 3 and its schedule (scaled_linear
// 0.0015..0.0155 for SRLDM); encoder an ldm-encoder from [B,3,H,W] to the
// continuous latent [B,C,H/f,W/f], C fixed; decoder an ldm-decoder that
// quantises to the codebook inside its graph. size_multiple is what the
// output's sides must be a multiple of. OpenLDM opens a bundle and checks
// that its parts fit; the bundled one, once there is one, is named srldm
// (DefaultLDM).
//
// # Denoisers
//
// An opened ddrm-prior or ldm-unet is an *ONNXDenoiser, a restore.Denoiser
// that is safe for concurrent use. It checks sizes before running, and its
// output after: a wrong shape or a NaN or Inf is an error, never a result.
//
// # Feature networks
//
// An inception model, opened with OpenInception, is an *Inception: it maps
// images in [0, 1] to feature vectors, for the FID and KID of 'restorelab
// bench --inception'. models/export/fid_inception.py exports pytorch-fid's
// FID Inception v3 (pool3, 2048 features) with the resizing to 299 and the
// scaling to [-1, 1] inside the graph, so any image size goes in.
//
// # Test fixtures
//
// testdata/make_fixtures.py writes tiny models whose output is a closed form
// of the input, eps = 0.5*x + K[c]*t/1000, with float32 and float16 inputs,
// learned variance, NaN output and a wrong output shape, and an ldm-sr
// bundle in closed form (pooling encoder, quantising decoder, Gaussian
// latent prior). testdata/inception_tiny is the FID Inception architecture
// at 1/8 width with random weights, written by
// 'models/export/fid_inception.py --random-tiny' with PyTorch's features for
// its test inputs. The tests that run them need ONNX Runtime and fail,
// naming 'make onnxruntime', without it; the tests of manifests, lookup and
// float16 conversion do not need it.
package models
