"""AWS Lambda functions shipped with the program (deployed by ``components``)."""
