"""Alice's answers: all right but one, in the forms she happened to write."""
import torch.nn as nn

STUDENT = "alice"

ANSWERS = {
    "hidden_activation_order": "b",            # her own order of the options, from torchgrade check
    # MISTAKE: misses "ReLU is cheap to compute" (E), so the set is not the right one.
    "relu_over_sigmoid": "B, D",
    "binary_output_activation": "Sigmoid",
    "binary_loss": nn.BCELoss,                 # the class itself, not a string: read as its name
    "multiclass_output": "(A)",
    "multiclass_loss": "nn.CrossEntropyLoss()",
    "regression_output": "D",
    "bounded_regression_output": "B",
    "init_relu_layers": "He initialization",
    "init_tanh_layers": "Glorot",
    "bias_init": "D",
    "dead_relu": "C",
    "dead_relu_remedies": ["D", "B"],
    "sigmoid_derivative_range": "B",
    "sigmoid_stack_factor": "9.54e-7",
}
