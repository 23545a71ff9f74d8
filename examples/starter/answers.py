"""answers.py — answer each question by replacing None; see the exercise statements for the questions.

- options: a letter, e.g. "B"; where several are right, a list of letters, e.g. ["A", "C"];
- numbers: a number (0.25, 1/4, 0.5 ** 3);
- names: a string, e.g. "BCELoss" (case, spaces and nn./torch. prefixes do not matter).

Some questions show their options in an order of your own: write your student id as STUDENT,
then run `torchgrade check` to see your options and the letter of each.
"""

STUDENT = ""  # your student id, as your teacher knows you

ANSWERS = {
    "hidden_activation_order": None,    # options (your own order): which order of preference?
    "relu_over_sigmoid": None,          # options, several right: why ReLU rather than sigmoid?
    "binary_output_activation": None,   # a name: output activation for binary classification
    "binary_loss": None,                # a name: the loss class for a sigmoid output
    "multiclass_output": None,          # options (your own order): what CrossEntropyLoss expects
    "multiclass_loss": None,            # a name: the loss class for logits and class indices
    "regression_output": None,          # options: output activation for an unbounded target
    "bounded_regression_output": None,  # options: output activation for a target in (-1, 1)
    "init_relu_layers": None,           # a name: initialisation for ReLU-family layers
    "init_tanh_layers": None,           # a name: initialisation for tanh / sigmoid layers
    "bias_init": None,                  # options (your own order): why biases start at zero
    "dead_relu": None,                  # options: what a dead ReLU is
    "dead_relu_remedies": None,         # options, several right: remedies for dead ReLUs
    "sigmoid_derivative_range": None,   # options: the range of sigmoid's derivative
    "sigmoid_stack_factor": None,       # a number: the most 10 sigmoid layers' derivatives can scale by
}
