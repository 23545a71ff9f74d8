"""Reference answers for answers.py.

The teacher's copy; it scores full marks and is never shipped to students. Questions with
shuffled options (hidden_activation_order, multiclass_output, bias_init) are answered with the
letters of the order drawn for STUDENT = "teacher"; `torchgrade check` lists any student's order.
"""

STUDENT = "teacher"

ANSWERS = {
    # activations
    "hidden_activation_order": "D",        # ReLU > Leaky ReLU > PReLU > tanh > sigmoid (shuffled)
    "relu_over_sigmoid": ["B", "D", "E"],
    # outputs and losses
    "binary_output_activation": "sigmoid",
    "binary_loss": "BCELoss",
    "multiclass_output": "B",              # logits (shuffled)
    "multiclass_loss": "CrossEntropyLoss",
    "regression_output": "D",              # the identity
    "bounded_regression_output": "B",      # tanh
    # initialisation
    "init_relu_layers": "Kaiming",
    "init_tanh_layers": "Xavier",
    "bias_init": "C",                      # random weights already break the symmetry (shuffled)
    # dead ReLUs and vanishing gradients
    "dead_relu": "C",
    "dead_relu_remedies": ["B", "D"],
    "sigmoid_derivative_range": "B",       # (0, 0.25]
    "sigmoid_stack_factor": 0.25 ** 10,
}
