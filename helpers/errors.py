"""The one exception type of the course: every message says what went wrong and what to do."""


class CourseError(RuntimeError):
    """A problem the learner can fix (bad input, missing file, absent webcam ...).

    The message always ends with what to do about it.
    """
