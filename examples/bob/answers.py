"""Bob's answers: the mistakes students make most often."""

STUDENT = "bob"

ANSWERS = {
    # MISTAKE: copied Alice's letter; the options are shuffled per student, so "B" is another option for Bob.
    "hidden_activation_order": "B",
    "relu_over_sigmoid": ["B", "D", "E"],
    "binary_output_activation": "sigmoid",
    # MISTAKE: BCEWithLogitsLoss applies its own sigmoid; after the network's sigmoid it squashes twice.
    "binary_loss": "BCEWithLogitsLoss",
    # MISTAKE: chose "end the network with nn.Softmax" (his letter C), although CrossEntropyLoss applies it.
    "multiclass_output": "C",
    # MISTAKE: NLLLoss needs log-probabilities, not logits.
    "multiclass_loss": "NLLLoss",
    "regression_output": "D",
    # MISTAKE: sigmoid's range is (0, 1), not (−1, 1).
    "bounded_regression_output": "A",
    "init_relu_layers": "kaiming_normal_",
    # MISTAKE: Kaiming is for ReLU layers.
    "init_tanh_layers": "Kaiming",
    "bias_init": "C",
    "dead_relu": "C",
    "dead_relu_remedies": ["B", "D"],
    # MISTAKE: σ' never reaches 0.
    "sigmoid_derivative_range": "A",
    # MISTAKE: multiplied by 10 instead of raising to the 10th power.
    "sigmoid_stack_factor": 0.25 * 10,
}
