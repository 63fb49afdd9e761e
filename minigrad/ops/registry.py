"""Where each op is registered, once, beside its Function: the names it goes by and the places it
appears (`minigrad.NAME`, `nn.functional.NAME`, `Tensor.NAME`). `minigrad`, `nn.functional` and
`Tensor` are built from these registrations, so adding an op is one edit in its family's module."""
import types

TORCH, FUNCTIONAL, METHOD = "torch", "functional", "method"
PLACES = (TORCH, FUNCTIONAL, METHOD)
_registered = {place: {} for place in PLACES}


def register(function, *places, name=None, aliases=()):
    """Publish `function` under its name (and `aliases`) in each of `places`; returns it."""
    unknown = set(places) - set(PLACES)
    if unknown or not places:
        raise ValueError(f"register: places must be among {PLACES}, got {places}")
    name = name or function.__name__
    if name == "apply":
        raise ValueError(f"register: a Function's apply ({function}) needs its op's name")
    for place in places:
        for each in (name, *aliases):
            if each in _registered[place]:
                raise ValueError(f"op {each!r} is registered twice in {place}")
            _registered[place][each] = function
    return function


def op(*places, name=None, aliases=()):
    """`register` as a decorator: @op(TORCH, METHOD) above a wrapper's def."""
    return lambda function: register(function, *places, name=name, aliases=aliases)


def registered(place):
    """{name: function} of every op published in `place`."""
    return dict(_registered[place])


def as_method(function):
    """A functional op as a Tensor method. Plain functions bind `self` by themselves; bound
    `Function.apply` classmethods do not, so they get a wrapper."""
    if isinstance(function, types.FunctionType):
        return function

    def method(self, *args, **kwargs):
        if args or kwargs:
            return function(self, *args, **kwargs)
        return function(self)  # the common call, without the copies that * and ** cost
    return method
