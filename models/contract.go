package models

import (
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"
)

// denoiserIO is how an eps-prediction graph is wired.
type denoiserIO struct {
	x, t, eps TensorSpec
	channels  int // C, the channels of x_t and eps
	// inChannels is C plus the conditioning channels that follow x_t's in
	// the image input (cond_channels in model.json).
	inChannels int
}

// findDenoiserIO picks a denoiser's image input (the one of rank 4), its time
// input (rank 1) and its output (the first), and checks them against the
// contract of role; cond is the number of conditioning channels the image
// input has after x_t's. It returns every problem it finds.
func findDenoiserIO(role Role, cond int, ins, outs []TensorSpec) (denoiserIO, []string) {
	var io denoiserIO
	var p []string
	var xs, ts []TensorSpec
	for _, in := range ins {
		switch len(in.Shape) {
		case 4:
			xs = append(xs, in)
		case 1:
			ts = append(ts, in)
		default:
			p = append(p, fmt.Sprintf("input %s has rank %d; a %s takes x of rank 4 [B,C,H,W] and t of rank 1 [B]", in.Name, len(in.Shape), role))
		}
	}
	if len(xs) != 1 {
		p = append(p, fmt.Sprintf("a %s takes exactly one image input of rank 4 [B,C,H,W]; found %d (%s)", role, len(xs), specNames(xs)))
	} else {
		io.x = xs[0]
		if io.x.DType != Float32 && io.x.DType != Float16 {
			p = append(p, fmt.Sprintf("input %s: dtype %s; a %s takes float32 or float16 images", io.x.Name, io.x.DType, role))
		}
		c := io.x.Shape[1]
		switch {
		case role == RoleDDRMPrior && c.Dynamic():
			io.channels = 3
		case role == RoleDDRMPrior && c.Size != 3:
			p = append(p, fmt.Sprintf("input %s has %d channels; a %s takes RGB images, 3 channels", io.x.Name, c.Size, role))
		case c.Dynamic():
			p = append(p, fmt.Sprintf("input %s has a dynamic channel dimension; a %s needs a fixed one", io.x.Name, role))
		case int(c.Size) <= cond:
			p = append(p, fmt.Sprintf("input %s has %d channels, not more than its %d conditioning channels (cond_channels)", io.x.Name, c.Size, cond))
		default:
			io.channels = int(c.Size) - cond
		}
		if io.channels > 0 {
			io.inChannels = io.channels + cond
		}
	}
	if len(ts) != 1 {
		p = append(p, fmt.Sprintf("a %s takes exactly one time-step input of rank 1 [B]; found %d (%s)", role, len(ts), specNames(ts)))
	} else {
		io.t = ts[0]
		if io.t.DType != Int64 && io.t.DType != Float32 {
			p = append(p, fmt.Sprintf("input %s: dtype %s; a %s takes time steps as int64 or float32", io.t.Name, io.t.DType, role))
		}
	}
	if len(outs) == 0 {
		return io, append(p, fmt.Sprintf("a %s has one output, eps [B,C,H,W]; the model has none", role))
	}
	io.eps = outs[0]
	if len(io.eps.Shape) != 4 {
		p = append(p, fmt.Sprintf("output %s has rank %d; a %s outputs eps of rank 4 [B,C,H,W]", io.eps.Name, len(io.eps.Shape), role))
	} else if c := io.eps.Shape[1]; !c.Dynamic() && io.channels > 0 && int(c.Size) != io.channels && int(c.Size) != 2*io.channels {
		p = append(p, fmt.Sprintf("output %s has %d channels; a %s with %d-channel x_t outputs %d (eps) or %d (eps and learned variance)", io.eps.Name, c.Size, role, io.channels, io.channels, 2*io.channels))
	}
	if io.eps.DType != Float32 && io.eps.DType != Float16 {
		p = append(p, fmt.Sprintf("output %s: dtype %s; a %s outputs float32 or float16", io.eps.Name, io.eps.DType, role))
	}
	return io, p
}

// checkContract checks declared or actual inputs and outputs against the
// contract of role; cond is a denoiser's number of conditioning channels.
// learnedVariance, when not nil, is what the manifest says, and a fixed
// output channel count must agree with it.
func checkContract(role Role, cond int, ins, outs []TensorSpec, learnedVariance *bool) []string {
	if role.isDenoiser() {
		io, p := findDenoiserIO(role, cond, ins, outs)
		if len(p) > 0 || learnedVariance == nil {
			return p
		}
		want := io.channels
		if *learnedVariance {
			want *= 2
		}
		if c := io.eps.Shape[1]; !c.Dynamic() && int(c.Size) != want {
			p = append(p, fmt.Sprintf("output %s has %d channels, but learned_variance is %t, which means %d", io.eps.Name, c.Size, *learnedVariance, want))
		}
		return p
	}
	var p []string
	if len(ins) != 1 {
		p = append(p, fmt.Sprintf("a %s takes exactly one input; the model has %d (%s)", role, len(ins), specNames(ins)))
	}
	if len(outs) == 0 {
		p = append(p, fmt.Sprintf("a %s has at least one output; the model has none", role))
	}
	if len(p) > 0 {
		return p
	}
	in, out := ins[0], outs[0]
	for _, s := range []TensorSpec{in, out} {
		if s.DType != Float32 {
			p = append(p, fmt.Sprintf("%s: dtype %s; a %s works in float32", s.Name, s.DType, role))
		}
	}
	rgb := func(s TensorSpec) {
		if len(s.Shape) != 4 {
			p = append(p, fmt.Sprintf("%s has rank %d; a %s has images of rank 4 [B,3,H,W] here", s.Name, len(s.Shape), role))
		} else if c := s.Shape[1]; !c.Dynamic() && c.Size != 3 {
			p = append(p, fmt.Sprintf("%s has %d channels; a %s has RGB images, 3 channels, here", s.Name, c.Size, role))
		}
	}
	rank4 := func(s TensorSpec) {
		if len(s.Shape) != 4 {
			p = append(p, fmt.Sprintf("%s has rank %d; a %s has latents of rank 4 [B,C,h,w] here", s.Name, len(s.Shape), role))
		}
	}
	switch role {
	case RoleLDMEncoder:
		rgb(in)
		rank4(out)
	case RoleLDMDecoder:
		rank4(in)
		rgb(out)
	case RoleInception:
		rgb(in)
		if r := len(out.Shape); r != 2 && r != 4 {
			p = append(p, fmt.Sprintf("%s has rank %d; an inception network outputs features [B,F] or [B,F,1,1]", out.Name, r))
		}
	}
	return p
}

// compareSpecs checks that what model.json declares matches what the ONNX
// file has. Every declared tensor must exist with the same dtype and rank,
// and fixed sizes on either side must agree; every input of the file must be
// declared, since ONNX Runtime needs them all.
func compareSpecs(kind string, declared, actual []TensorSpec) []string {
	var p []string
	byName := map[string]TensorSpec{}
	for _, a := range actual {
		byName[a.Name] = a
	}
	declaredNames := map[string]bool{}
	for _, d := range declared {
		declaredNames[d.Name] = true
		a, ok := byName[d.Name]
		if !ok {
			p = append(p, fmt.Sprintf("%s declares %s %q, but the ONNX file has no such %s (it has %s)", ManifestFile, kind, d.Name, kind, specNames(actual)))
			continue
		}
		if d.DType != a.DType {
			p = append(p, fmt.Sprintf("%s %s is %s in %s but %s in the ONNX file", kind, d.Name, d.DType, ManifestFile, a.DType))
		}
		if len(d.Shape) != len(a.Shape) {
			p = append(p, fmt.Sprintf("%s %s has shape %s in %s but %s in the ONNX file", kind, d.Name, d.Shape, ManifestFile, a.Shape))
			continue
		}
		for i := range d.Shape {
			dd, ad := d.Shape[i], a.Shape[i]
			if dd.Dynamic() && !ad.Dynamic() || !dd.Dynamic() && !ad.Dynamic() && dd.Size != ad.Size {
				p = append(p, fmt.Sprintf("%s %s has shape %s in %s but %s in the ONNX file (dimension %d differs)", kind, d.Name, d.Shape, ManifestFile, a.Shape, i))
				break
			}
		}
	}
	if kind == "input" {
		for _, a := range actual {
			if !declaredNames[a.Name] {
				p = append(p, fmt.Sprintf("the ONNX file has input %s, which %s does not declare", a, ManifestFile))
			}
		}
	}
	return p
}

// specsFromInfo converts ONNX Runtime's description of a graph's inputs or
// outputs. Element types this package does not handle keep a descriptive
// DType, for the contract check to name.
func specsFromInfo(infos []ort.InputOutputInfo) []TensorSpec {
	specs := make([]TensorSpec, len(infos))
	for i, info := range infos {
		s := TensorSpec{Name: info.Name, DType: dtypeOf(info)}
		for _, d := range info.Dimensions {
			if d < 1 {
				s.Shape = append(s.Shape, Dim{Size: -1})
			} else {
				s.Shape = append(s.Shape, Dim{Size: d})
			}
		}
		specs[i] = s
	}
	return specs
}

func dtypeOf(info ort.InputOutputInfo) DType {
	if info.OrtValueType != ort.ONNXTypeTensor {
		return DType(strings.ToLower(strings.TrimPrefix(info.OrtValueType.String(), "ONNX_TYPE_")))
	}
	switch info.DataType {
	case ort.TensorElementDataTypeFloat:
		return Float32
	case ort.TensorElementDataTypeFloat16:
		return Float16
	case ort.TensorElementDataTypeInt64:
		return Int64
	}
	return DType(strings.ToLower(strings.TrimPrefix(info.DataType.String(), "ONNX_TENSOR_ELEMENT_DATA_TYPE_")))
}

func specNames(specs []TensorSpec) string {
	if len(specs) == 0 {
		return "none"
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}
